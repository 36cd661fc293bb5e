// Rigid registration to the atlas (src/pipeline/registration). The defaults are what the tests and the
// benchmark measure; change them only with a reason (see README, section registration).
export const registrationSection = {
  levelsMm: {
    doc: 'Pyramid levels, coarse to fine, as voxel spacing in mm',
    format: 'positive-number-list',
    default: [6, 3, 1.5],
    env: 'BRAINSTRIP_REGISTRATION_LEVELS_MM',
  },
  samples: {
    doc: 'Sample points in the atlas per pyramid level (same length as levelsMm)',
    format: 'positive-whole-number-list',
    default: [4000, 12000, 30000],
    env: 'BRAINSTRIP_REGISTRATION_SAMPLES',
  },
  bins: {
    doc: 'Histogram bins per image for mutual information',
    format: 'positive-whole-number',
    default: 32,
    env: 'BRAINSTRIP_REGISTRATION_BINS',
  },
  orientationMargin: {
    doc: 'A starting rotation other than the DICOM header orientation wins only if its (NMI − 1) is this many times larger',
    format: 'positive-number',
    default: 1.25,
    env: 'BRAINSTRIP_REGISTRATION_ORIENTATION_MARGIN',
  },
  flattenMm: {
    doc: 'Gaussian σ (mm) of the coil shading divided out of the input before registering; 0 turns it off',
    format: 'non-negative-number',
    default: 12,
    env: 'BRAINSTRIP_REGISTRATION_FLATTEN_MM',
  },
};

export interface RegistrationConfig {
  levelsMm: number[];
  samples: number[];
  bins: number;
  orientationMargin: number;
  flattenMm: number;
}
