// How spooled DICOM becomes a volume: what counts as one volume, and which volume is taken from a series that
// holds several at the same slice positions (diffusion, multi-echo, time series).
export const pipelineSection = {
  multiVolume: {
    doc:
      'A series with several volumes at the same slice positions (diffusion b-values/directions, echoes, time points) is split; ' +
      "'first' processes the first volume in acquisition order (b=0 for diffusion, first echo), 'last' the last one, 'refuse' fails the job",
    format: ['first', 'last', 'refuse'],
    default: 'first',
    env: 'BRAINSTRIP_MULTI_VOLUME',
  },
  samePositionTolerance: {
    doc: 'Slices whose ImagePositionPatient differ by less than this many mm are at the same position (another volume)',
    format: 'positive-number',
    default: 0.01,
    env: 'BRAINSTRIP_SAME_POSITION_TOLERANCE',
  },
  spacingTolerance: {
    doc: 'Largest relative deviation of a gap between slices from the typical gap; beyond it the series is refused as irregular (missing slices)',
    format: 'positive-number',
    default: 0.1,
    env: 'BRAINSTRIP_SPACING_TOLERANCE',
  },
  minSlices: {
    doc: 'Fewest slice positions that make a volume; a series with fewer is refused',
    format: 'positive-whole-number',
    default: 3,
    env: 'BRAINSTRIP_MIN_SLICES',
  },
};

/** The part of the configuration that `loadSeries` takes as options. */
export interface PipelineConfig {
  multiVolume: 'first' | 'last' | 'refuse';
  samePositionTolerance: number;
  spacingTolerance: number;
  minSlices: number;
}
