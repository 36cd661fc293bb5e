#!/usr/bin/env python3
"""Writes models/checksums.json: the SHA-256 of every file the node loads (ONNX models, atlas) and the list of
models with their version and precision, read from each model's <name>-<precision>.json sidecar. The node refuses
to start when a file does not match (src/pipeline/model-files.ts).

  /usr/bin/python3 training/write_checksums.py [--version 1.0.0]
"""
import argparse
import glob
import hashlib
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', default=os.path.join(HERE, '..', 'models'))
    ap.add_argument('--version', default=None, help='version to record for every model (default: from its sidecar)')
    args = ap.parse_args()
    root = os.path.abspath(args.models)
    files = {}
    for rel in ['atlas/grid.json', 'atlas/template.nii.gz', 'atlas/brain-mask.nii.gz']:
        files[rel] = sha256(os.path.join(root, rel))
    models = []
    for onnx in sorted(glob.glob(os.path.join(root, '*.onnx'))):
        name = os.path.basename(onnx)
        m = re.match(r'^(.*)-(fp32|int8)\.onnx$', name)
        if not m:
            continue
        files[name] = sha256(onnx)
        sidecar = os.path.splitext(onnx)[0] + '.json'
        meta = json.load(open(sidecar)) if os.path.exists(sidecar) else {}
        version = args.version or meta.get('version') or ('0.1.0-early' if meta.get('tag') == 'early' else '1.0.0')
        models.append({'name': m.group(1), 'version': version, 'precision': m.group(2).upper(), 'file': name,
                       'parameters': meta.get('parameters'), 'flops': meta.get('flops'), 'trainingSteps': meta.get('steps'),
                       'trainingMinutes': meta.get('training_minutes'),
                       **({'grid': {k: meta['grid'][k] for k in ('dims', 'spacing', 'origin', 'direction')}} if meta.get('grid') else {})})
    out = {'description': 'SHA-256 of every file brainstrip loads from this folder; the node refuses to start on a mismatch. '
                          'Written by training/write_checksums.py.', 'files': files, 'models': models}
    with open(os.path.join(root, 'checksums.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
