#!/usr/bin/env bash
# Rebuilds the shipped INT8 model from the shipped FP32 model (npm run quantize:model): renders the calibration
# (SynthSeg maps 01-09) and validation (maps 10-17, with masks) images once, quantizes with the accuracy-aware
# fallback, writes <models>/<name>-int8.onnx with its .json sidecar (command, report), and rewrites
# <models>/checksums.json. Run after `npm run build`. Exit status 1 when the Dice drop stays above the limit.
#   MODEL_NAME (brainstrip-efficient)  MODELS_DIR (models)  QUANTIZATION_DATA (var/quantization-data)
#   MAX_DICE_DROP (0.001)  QUICK=1 (3 + 3 images, to try the command)
#   SPEED_CHECK=1 tunes the file to the CPU that builds it: convolutions this CPU runs slower in INT8 go back to
#   FP32 when the whole model then runs faster (without VNNI, the full-resolution 16-channel ones do). Off by
#   default: the shipped file is for any CPU, and on those with VNNI every INT8 convolution is the faster one.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${MODEL_NAME:-brainstrip-efficient}
models=${MODELS_DIR:-models}
data=${QUANTIZATION_DATA:-var/quantization-data}
suffix=""
if [ "${QUICK:-0}" = 1 ]; then suffix="-quick"; fi
node dist/bench/quantization-data.js --out "$data" ${suffix:+--quick} >/dev/null
status=0
node dist/src/cli.js quantize --model "$models/$name-fp32.onnx" --calibration "$data/calibration$suffix" \
  --validation "$data/validation$suffix" --out "$models/$name-int8.onnx" --models "$models" \
  --max-dice-drop "${MAX_DICE_DROP:-0.001}" $([ "${SPEED_CHECK:-0}" = 1 ] && echo --speed-check) || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then exit "$status"; fi
# keep the version checksums.json gives the FP32 model (write_checksums.py applies one version to every model)
version=$(/usr/bin/python3 -c "import json,sys; m=[e for e in json.load(open(sys.argv[2]))['models'] if e['name']==sys.argv[1] and e['precision']=='FP32']; print(m[0]['version'] if m else '')" "$name" "$models/checksums.json" 2>/dev/null || true)
/usr/bin/python3 training/write_checksums.py --models "$models" ${version:+--version "$version"} >/dev/null
echo "$models/$name-int8.onnx, $models/$name-int8.json and $models/checksums.json written"
exit "$status"
