// What the node does with a complete series: read it onto its native grid, extract the brain, build the
// skull-stripped series and the SEG, keep them durably in the job's folder, and deliver them to every archive.
// Each step leaves its result on disk, so a restart resumes where the job stopped: computed results are not
// computed again, and objects an archive confirmed are not sent again (the stored ledger).
import { destinationsFor } from './routing-rules.js';
import { SEGMENTATION_STORAGE } from '../../dicom/uids.js';
import type { DestinationHealth } from '../../scu/destination-health.js';
import type { BrainstripConfig } from '../../../config/schema.js';
import { dataFolder, resultsDirOf } from '../../data-folder.js';
import { DicomError } from '../../dicom/errors.js';
import type { DerivedObjectOptions } from '../../pipeline/derived/objects.js';
import { type ResultFilesInput, writeResultFiles } from '../../pipeline/derived/result-files.js';
import { type ModelEntry, modelCandidates } from '../../pipeline/segmentation/model-files.js';
import { type DeliveryLedger, StoredLedger, destinationKey } from '../../scu/ledger.js';
import { DeliveryError, deliver } from '../../scu/sender.js';
import { HeldForReviewError, type JobContext, ResultsMissingError, type SeriesProcessor } from './contract.js';
import type { ExtractionStep } from './extract-brain.js';
import { type BrainExtractor, poolExtractor } from './extractor.js';
import type { ChosenModel } from './model-choice.js';
import { loadSeriesIsolated } from './parse-series.js';
import { ResultIndex, type ResultSet, inputKey, readResultSet, recordResultSet } from './result-set.js';
import { BRAINSTRIP_VERSION } from '../../version.js';


function derivedOptions(config: BrainstripConfig): DerivedObjectOptions {
  const r = config.results;
  return {
    uidRoot: r.uidRoot,
    seriesDescriptionSuffix: r.seriesDescriptionSuffix,
    segSeriesDescriptionSuffix: r.segSeriesDescriptionSuffix,
    seriesNumberOffset: r.seriesNumberOffset,
    institutionName: r.institutionName || undefined,
    softwareVersion: BRAINSTRIP_VERSION,
  };
}

async function computeResults(ctx: JobContext, config: BrainstripConfig, extractor: BrainExtractor, dir: string, key: string): Promise<ResultSet> {
  const { job, instancePaths, log } = ctx;
  ctx.step('reading', `reading ${instancePaths.length} instance(s)`);
  // The site's choices for multi-volume series and slice tolerances apply to the node exactly as to the CLI.
  // Parsed in a worker with a time and memory limit: a hostile instance costs that worker, not the node.
  const { loaded, acquisition } = await loadSeriesIsolated(
    instancePaths,
    { ...config.pipeline, seriesInstanceUid: job.seriesInstanceUid },
    {
      timeoutMs: config.jobs.parseTimeoutSeconds * 1000,
      maxMemoryMb: config.jobs.parseMemoryMb,
      log: { level: config.log.level, file: dataFolder(config).logFile },
    },
    ctx.signal,
  );
  const { source } = loaded;
  ctx.step('extraction', 'brain extraction');
  const steps: Record<ExtractionStep, string> = { registration: 'registering to the atlas', segmentation: 'segmenting the brain' };
  const extraction = await extractor.extract(
    loaded.volume,
    { jobId: job.id, studyInstanceUid: source.studyInstanceUid, seriesInstanceUid: source.seriesInstanceUid },
    (step) => ctx.step(step, steps[step]),
  );
  if (ctx.signal?.aborted) throw new Error('interrupted');
  log.info(`brain extracted: ${extraction.brainVolumeMl.toFixed(0)} ml, atlas agreement Dice ${extraction.atlasAgreementDice.toFixed(3)}`, {
    flaggedForReview: extraction.flaggedForReview,
  });
  if (extraction.flaggedForReview) log.warn(`brain mask flagged for review: ${extraction.reviewReason ?? ''}`);
  if (extraction.notAHead && config.results.nonHead === 'withhold') {
    throw DicomError.withMessage(`series ${source.seriesInstanceUid}: results withheld (results.nonHead is 'withhold'): ${extraction.reviewReason ?? 'the image does not look like a head'}`, {
      studyInstanceUid: source.studyInstanceUid,
      seriesInstanceUid: source.seriesInstanceUid,
    });
  }
  ctx.step('building', 'building skull-stripped series and SEG');
  const options: DerivedObjectOptions = {
    ...derivedOptions(config),
    reviewNote: extraction.flaggedForReview
      ? `brainstrip quality check: ${extraction.reviewReason ?? 'the brain mask looks wrong'}; review it before use.`
      : undefined,
  };
  const derive = extractor.derive ?? (async (input: ResultFilesInput) => writeResultFiles(input));
  const files = await derive({ source, volume: loaded.volume, mask: extraction.mask, algorithm: extraction.model, options, acquisition, dir });
  if (files.qcProblem) log.warn(`QC picture not made: ${files.qcProblem}`);
  // The QC picture lies next to the results (not in the manifest): the operations page shows it, and a job that
  // reuses these results finds it through the result index.
  const set = recordResultSet(dir, files.objects, {
    inputKey: key,
    model: extraction.model,
    summary: {
      brainVolumeMl: Math.round(extraction.brainVolumeMl),
      atlasAgreementDice: Number(extraction.atlasAgreementDice.toFixed(3)),
      atlasScale: extraction.atlasScale,
      flaggedForReview: extraction.flaggedForReview,
      ...(extraction.reviewReason ? { reviewReason: extraction.reviewReason } : {}),
      reviewDice: config.model.reviewDice,
    },
  });
  return set;
}

/** The quality check's verdict of a result set: why it was flagged for review, or null when it was not. */
function reviewOf(set: ResultSet): string | null {
  return set.summary.flaggedForReview ? String(set.summary.reviewReason ?? 'flagged by the quality check') : null;
}

export interface SeriesProcessorHandle extends SeriesProcessor {
  /** Both stages in one call, for tools that need no queue. */
  process(ctx: JobContext): Promise<void>;
  /** Whether the model is loaded (the node is not ready before). */
  modelLoaded(): boolean;
  close(): Promise<void>;
}

/**
 * `models`: the model files resolved when the node started (modelCandidates: both precisions under 'auto'; resolved
 * here from the configuration when absent, once). `warm`: prepare the workers now (the node), not when the first
 * series needs them (one-shot tools). `onModelChosen`: told which of them runs, and why.
 */
export function createSeriesProcessor(
  config: BrainstripConfig,
  deps: {
    models?: readonly ModelEntry[];
    extractor?: BrainExtractor;
    warm?: boolean;
    destinationHealth?: DestinationHealth;
    ledger?: DeliveryLedger;
    onModelChosen?(chosen: ChosenModel): void;
  } = {},
): SeriesProcessorHandle {
  const models = deps.models ?? modelCandidates(config.model, false);
  const extractor = deps.extractor ?? poolExtractor(config, models, { warm: deps.warm, onChosen: deps.onModelChosen });
  const folder = dataFolder(config);
  const ledger = deps.ledger ?? new StoredLedger(folder.storedLedger);
  const index = new ResultIndex(folder.resultIndex);
  // Results computed by another model are not reused: another configured model or precision, or the same name
  // with other weights (an upgrade). The model is known by its file's checksum in models/checksums.json. Under
  // 'auto' either precision's results are the configured model's: a restart that times the other one faster
  // does not compute again what is on disk.
  const sameModel = (set: ResultSet) => models.some((m) => m.sha256 === set.model.sha256);
  const destinations = config.results.destinations;
  const tls = {
    ca: config.tls.ca || undefined,
    certificate: config.tls.certificate || undefined,
    privateKey: config.tls.privateKey || undefined,
  };

  /** Results computed from exactly these instances by the configured model, in the job's folder or another job's. */
  const resultsOnDisk = (ctx: Pick<JobContext, 'job' | 'instancePaths' | 'workDir'>): ResultSet | undefined => {
    let key: string;
    try {
      key = inputKey(ctx.instancePaths);
    } catch {
      return undefined; // an instance left the spool: the input is not what the results were computed from
    }
    const results = readResultSet(resultsDirOf(ctx.workDir), key) ?? index.lookup(ctx.job.seriesInstanceUid, key);
    return results && sameModel(results) ? results : undefined;
  };

  const compute = async (ctx: JobContext): Promise<void> => {
    const { job, workDir, log } = ctx;
    const found = resultsOnDisk(ctx);
    if (found) {
      log.info(`results computed earlier from the same instances are complete on disk (${found.objects.length} objects)`);
      await ctx.recordReview?.(reviewOf(found));
      return;
    }
    const dir = resultsDirOf(workDir);
    const key = inputKey(ctx.instancePaths);
    try {
      await computeResults(ctx, config, extractor, dir, key);
    } catch (error) {
      // The job's reason must name the series, whichever step failed: an error that names it already is kept.
      if (error instanceof DicomError && error.identifiers.seriesInstanceUid === job.seriesInstanceUid) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw DicomError.withMessage(`series ${job.seriesInstanceUid}: ${message}`, { seriesInstanceUid: job.seriesInstanceUid }, { cause: error });
    }
    index.record(job.seriesInstanceUid, key, dir);
    const computed = resultsOnDisk(ctx);
    if (computed) await ctx.recordReview?.(reviewOf(computed));
  };

  const send = async (ctx: JobContext): Promise<void> => {
    const { job, log } = ctx;
    const results = resultsOnDisk(ctx);
    if (!results) throw new ResultsMissingError(`series ${job.seriesInstanceUid}: no results on disk computed from its instances by the configured model`);
    await ctx.whenSendingAllowed?.();
    const targets = ctx.onlyDestination
      ? destinations.filter((d) => destinationKey(d) === ctx.onlyDestination)
      : destinationsFor(job, { include: config.receive.routing.include, destinations, knownAes: config.results.knownAes });
    if (ctx.onlyDestination && targets.length === 0) throw new Error(`destination ${ctx.onlyDestination} is not configured (results.destinations)`);
    if (targets.length === 0) log.warn('no destination configured (results.destinations): results are kept in the job folder only');
    const failures: string[] = [];
    let partial = false;
    // A flagged result waits at the destinations that hold flagged results until a person released it.
    const review = reviewOf(results);
    const held = review && !ctx.job.releasedBy ? targets.filter((d) => d.holdFlagged).map(destinationKey) : [];
    for (const destination of targets) {
      if (held.includes(destinationKey(destination))) continue;
      // The SEG goes last: an archive never holds a SEG whose images it lacks.
      const items = results.objects.map((o) => ({
        path: o.path,
        sopClassUid: o.sopClassUid,
        sopInstanceUid: o.sopInstanceUid,
        label: o.label,
        last: o.sopClassUid === SEGMENTATION_STORAGE,
      }));
      // A ledger that cannot be read now: the delivery asks it again until it answers.
      const confirmed = await ledger.confirmed(destination, items.map((i) => i.sopInstanceUid)).catch(() => new Map());
      const pending = items.length - confirmed.size;
      if (pending === 0) {
        log.info(`${destinationKey(destination)} already holds all ${items.length} objects`);
        continue;
      }
      try {
        await deliver(destination, items, {
          ledger,
          associations: config.results.associations,
          policy: { ...config.results.retry, giveUpAfterMs: config.results.retry.giveUpAfterHours * 3600_000 },
          store: {
            callingAeTitle: config.results.callingAeTitle,
            connectTimeoutMs: config.results.timeouts.connectMs,
            associationTimeoutMs: config.results.timeouts.associationMs,
            tls,
            signal: ctx.signal,
          },
          log,
          health: deps.destinationHealth,
          onAttempt: (attempt, left) =>
            ctx.progress(
              `${left} of ${items.length} object(s) to ${destination.aeTitle}` +
                (attempt > 1 ? `, attempt ${attempt}${config.results.retry.maxAttempts > 0 ? `/${config.results.retry.maxAttempts}` : ''} (archive not storing; retried with backoff)` : ''),
            ),
        });
        log.info(`${destinationKey(destination)} stored all ${items.length} objects`, {
          derivedSeriesInstanceUid: results.objects[0]?.seriesInstanceUid,
        });
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        const message = error instanceof DeliveryError ? error.message : `${destination.aeTitle}: ${(error as Error).message}`;
        if (error instanceof DeliveryError && error.delivered > 0) partial = true;
        failures.push(message);
      }
    }
    if (failures.length > 0) {
      throw new Error(`results of series ${job.seriesInstanceUid} ${partial ? 'only partly delivered' : 'not delivered'}: ${failures.join('; ')}`);
    }
    if (held.length > 0) throw new HeldForReviewError(held);
  };

  const process = async (ctx: JobContext): Promise<void> => {
    await compute(ctx);
    await send(ctx);
  };

  return { compute, send, hasResults: (ctx) => resultsOnDisk(ctx) !== undefined, process, modelLoaded: () => extractor.loaded?.() ?? true, close: () => extractor.close() };
}
