// The DICOM SCP's listener: opens the port (TCP or TLS), gives each connection an AssociationHandler sharing one
// runtime, retries recording what the job store refused, and closes. An instance is answered Success only after it
// is fsynced in its final place; if it cannot be stored the answer is Out of Resources and the node carries on.
import type { Socket } from 'node:net';
import dcmjsDimse from 'dcmjs-dimse';
import { asScpClass, clientSocketsOf, listenTarget, netServerOf } from '../dimse-adapter.js';
import { AssociationHandler } from './association.js';
import { type ScpDependencies, type ScpOptions, ScpRuntime } from './runtime.js';

const { Scp, Server } = dcmjsDimse;

export interface RunningScp {
  port: number;
  activeAssociations(): number;
  /** Instances acknowledged and spooled but not yet recorded in the job store. */
  unrecordedInstances(): number;
  close(): Promise<void>;
}

export async function startScp(options: ScpOptions, deps: ScpDependencies): Promise<RunningScp> {
  const rt = new ScpRuntime(options, deps);
  const log = rt.log;
  const retryRecording = setInterval(() => void rt.retryUnrecorded(), 2000);
  retryRecording.unref();

  const server = new Server(
    asScpClass(
      class extends AssociationHandler {
        constructor(socket: Socket, opts: ConstructorParameters<typeof Scp>[1]) {
          super(socket, opts, rt);
        }
      },
    ),
  );
  const tlsOptions = options.tls
    ? {
        securityOptions: {
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          requestCert: options.tls.requireClientCert,
          rejectUnauthorized: options.tls.requireClientCert,
        },
      }
    : {};
  const netServer = () => netServerOf(server);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`DICOM port ${options.port}: ${error.message}`));
    server.once('networkError', onError);
    server.once('listening', () => {
      server.off('networkError', onError);
      resolve();
    });
    server.listen(listenTarget(options.port, options.host), {
      associationTimeout: options.timeoutMs,
      pduTimeout: options.timeoutMs,
      ...tlsOptions,
    });
  });
  server.on('networkError', (error: Error) => log.debug(`network error: ${error.message}`));
  const address = netServer()?.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info(`DICOM SCP listening`, { aeTitle: options.aeTitle, host: options.host || 'every interface', port, tls: !!options.tls });

  return {
    port,
    activeAssociations: () => rt.active,
    unrecordedInstances: () => rt.unrecorded.size,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(retryRecording);
        const s = netServer();
        if (!s?.listening) return resolve();
        s.close(() => resolve());
        server.close();
        // Open associations are cut: what they had not had acknowledged, the senders still hold.
        for (const socket of clientSocketsOf(server)) socket.destroy();
      }),
  };
}
