// The model file the node runs, decided once when its worker pool starts: the one configured, or under
// model.precision 'auto' the faster of FP32 and INT8 as a worker times them on this CPU (pool task
// precision-trial). The choice, with both timings and the CPU they were taken on, goes to the log and to whoever
// shows it (/health, the operations page, brainstrip_build_info).
import { cpuWords, describeCpu } from '../../cpu.js';
import type { Logger } from '../../log.js';
import type { ModelEntry } from '../../pipeline/segmentation/model-files.js';
import { type PrecisionChoice, describePrecisionChoice } from '../../pipeline/segmentation/precision-choice.js';
import type { WorkerPool } from '../../pool/pool.js';

/** Timed runs per precision: the best of two is steady enough and keeps the node's start short. */
export const TRIAL_RUNS = 2;

export interface ChosenModel {
  model: ModelEntry;
  choice: PrecisionChoice;
}

/** `models`: the candidates of modelCandidates (one when forced). Never throws: a failed trial runs the first candidate. */
export async function chooseModel(pool: Pick<WorkerPool, 'run' | 'intraOpThreads'>, models: readonly ModelEntry[], configured: PrecisionChoice['configured'], log: Logger): Promise<ChosenModel> {
  const cpu = describeCpu();
  const entryOf = (precision: string) => models.find((m) => m.precision === precision) ?? models[0];
  let chosen: ChosenModel;
  if (models.length === 1) {
    chosen = { model: models[0], choice: { configured, precision: models[0].precision, by: 'configuration', cpu } };
  } else {
    const measured = { runs: TRIAL_RUNS, intraOpThreads: pool.intraOpThreads, cpu };
    try {
      const trial = await pool.run('precision-trial', {
        models: models.map((m) => ({ precision: m.precision, path: m.path })),
        intraOpThreads: pool.intraOpThreads,
        runs: TRIAL_RUNS,
        modelsDir: models[0].dir,
        grid: models[0].grid,
      });
      const failed = Object.entries(trial.failures).map(([p, why]) => `${p}: ${why}`);
      chosen = {
        model: entryOf(trial.precision),
        choice: { configured, precision: trial.precision, by: 'measurement', milliseconds: trial.milliseconds, ...measured, ...(failed.length ? { problem: failed.join('; ') } : {}) },
      };
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      chosen = { model: models[0], choice: { configured, precision: models[0].precision, by: 'fallback', ...measured, problem } };
    }
  }
  const { choice } = chosen;
  const words = `model ${chosen.model.name} ${chosen.model.version} runs ${describePrecisionChoice(choice)}; CPU ${cpuWords(cpu)}`;
  const fields = { precision: choice.precision, by: choice.by, milliseconds: choice.milliseconds, intraOpThreads: choice.intraOpThreads, cpu: cpu.name, instructionSets: cpu.instructionSets };
  if (choice.problem) log.warn(`${words}; ${choice.problem}`, fields);
  else log.info(words, fields);
  return chosen;
}
