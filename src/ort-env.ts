// ONNX Runtime's telemetry writes a device id and a database under ~/.cache/Microsoft, a trace log to
// /tmp/mat-debug-<pid>.log, and carries an upload address. The node writes nothing outside its dataDir and sends
// nothing anywhere, so telemetry is off before the library is loaded. Import this module before onnxruntime-node;
// worker threads share the process environment.
process.env.ORT_DISABLE_TELEMETRY = '1';
export {};
