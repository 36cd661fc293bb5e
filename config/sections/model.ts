// Which brain extraction model the node runs and when a result is flagged for a person to review.
export const modelSection = {
  dir: {
    doc: "Folder holding the ONNX models, checksums.json and atlas/; empty for the models folder shipped with brainstrip",
    format: 'optional-path',
    default: '',
    env: 'BRAINSTRIP_MODEL_DIR',
  },
  name: {
    doc: "Model to run, as listed in <dir>/checksums.json (e.g. 'brainstrip-efficient'; the file is <name>-<precision>.onnx)",
    format: 'text',
    default: 'brainstrip-efficient',
    env: 'BRAINSTRIP_MODEL',
  },
  precision: {
    doc:
      "Numeric precision of the model file to run: 'auto' (the default: at start the node times both files on its own CPU and runs the faster; " +
      "INT8 must be 5 % faster, since on a tie FP32 needs less memory), 'INT8' (made from the FP32 model by `brainstrip quantize`) or 'FP32' to force one. " +
      "One-shot commands (extract, evaluate-model) run INT8 under 'auto'",
    format: ['auto', 'FP32', 'INT8'],
    default: 'auto',
    env: 'BRAINSTRIP_MODEL_PRECISION',
  },
  verifyChecksums: {
    doc: 'Refuse to start when a model or atlas file does not match its SHA-256 in checksums.json',
    format: 'flag',
    default: true,
    env: 'BRAINSTRIP_MODEL_VERIFY',
  },
  reviewDice: {
    doc:
      'Results whose mask agrees with the registered atlas mask below this Dice (the best over head sizes 0.82–1 of the atlas, ' +
      'src/pipeline/segmentation/atlas-agreement.ts) are flagged for review: a failed registration, a mask of the wrong shape or place, or ' +
      'one that spills past the skull. Measured: real adult heads 0.85–0.92, phantoms 0.80–0.82',
    format: 'fraction',
    default: 0.83,
    env: 'BRAINSTRIP_REVIEW_DICE',
  },
};

/** The numeric precision of a model file. */
export type ModelPrecision = 'FP32' | 'INT8';

export interface ModelConfig {
  dir: string;
  name: string;
  /** 'auto': the faster of FP32 and INT8 on this CPU, measured when the node starts. */
  precision: 'auto' | ModelPrecision;
  verifyChecksums: boolean;
  reviewDice: number;
}
