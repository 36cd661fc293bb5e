// Placeholder until the results area (issue 6) installs the pipeline: loadSeries → extractBrain → derived series
// and SEG → SCU. Jobs reach the processor and fail with a clear reason instead of pretending to succeed.
import type { BrainstripConfig } from '../../config/schema.js';
import type { SeriesProcessor } from './types.js';

export function createSeriesProcessor(_config: BrainstripConfig): { process: SeriesProcessor; close(): Promise<void> } {
  return {
    process: async () => {
      throw new Error('processing pipeline not installed');
    },
    close: async () => undefined,
  };
}
