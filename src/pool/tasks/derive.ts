// Worker task: the results of a series written as files (pipeline/derived/result-files.ts), off the main thread.
// The volume arrives in shared memory and is masked there; only the file list comes back.
import { type ResultFiles, type ResultFilesInput, writeResultFiles } from '../../pipeline/derived/result-files.js';
import { releaseMemory } from '../../memory.js';

export type DerivePayload = ResultFilesInput;
export type DeriveResult = ResultFiles;

export default async function derive(payload: DerivePayload): Promise<DeriveResult> {
  // The previous task's payload and intermediates are garbage now: freed before this task allocates its own.
  releaseMemory();
  return writeResultFiles(payload);
}
