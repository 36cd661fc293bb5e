#!/usr/bin/env bash
# Rebuilds the shipped INT8 model from the shipped FP32 model (npm run quantize:model): renders the calibration
# (SynthSeg maps 01-09) and validation (maps 10-17, with masks) images once, quantizes with the accuracy-aware
# fallback, writes models/<name>-int8.onnx with its .json sidecar (command, report), and rewrites
# models/checksums.json. Run after `npm run build`. Exit status 1 when the Dice drop stays above the limit.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${MODEL_NAME:-brainstrip-efficient}
data=${QUANTIZATION_DATA:-var/quantization-data}
node dist/bench/quantization-data.js --out "$data" >/dev/null
status=0
node dist/src/cli.js quantize --model "models/$name-fp32.onnx" --calibration "$data/calibration" \
  --validation "$data/validation" --out "models/$name-int8.onnx" --max-dice-drop "${MAX_DICE_DROP:-0.001}" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then exit "$status"; fi
/usr/bin/python3 training/write_checksums.py >/dev/null
echo "models/$name-int8.onnx, models/$name-int8.json and models/checksums.json written"
exit "$status"
