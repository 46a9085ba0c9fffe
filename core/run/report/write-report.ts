import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../atomic-write';
import type { Logger } from '../../contracts/services';
import type { PluginManifest } from '../../registry/plugin-spec';
import { RunFolder } from '../../run-folder';
import { encodeModelSplit, withModelSplit, type EvalTarget } from '../evaluate-model';
import type { LoadedModel } from '../load-run';
import { retrievalRanks } from './ranks';
import { reportData, type ReportChoices, type ReportData } from './report-data';
import { reportHtml } from './report-html';

export interface ReportOptions extends Partial<ReportChoices> {
  /** Split to report on (default: the recipe's `evaluate.split`). */
  readonly split?: string;
  /** Where to write the page (default: `report.html` in the run folder). */
  readonly out?: string;
  /** Also log the page as an artifact of the run's tracked run (re-opened through the recipe's tracker). */
  readonly track?: boolean;
}

export interface WrittenReport {
  readonly path: string;
  readonly data: ReportData;
  /** The tracked run the page was logged to, when it was. */
  readonly trackerRunId?: string;
}

export const DEFAULT_REPORT_CHOICES: ReportChoices = { samples: 6, failures: 5, seed: 0 };

/**
 * `shnet report`: loads a trained run (`withModelSplit`: recipe, vocabulary, best weights), encodes the split, ranks
 * every caption and image against the whole split, and writes one self-contained HTML page — sampled retrievals
 * both ways with the ground truth marked, the worst failures, recall by caption type — with the data set's
 * pictures embedded when it can draw them.
 */
export async function writeReport(manifests: readonly PluginManifest[], target: EvalTarget, options: ReportOptions, logger: Logger): Promise<WrittenReport> {
  const choices: ReportChoices = {
    samples: options.samples ?? DEFAULT_REPORT_CHOICES.samples,
    failures: options.failures ?? DEFAULT_REPORT_CHOICES.failures,
    seed: options.seed ?? DEFAULT_REPORT_CHOICES.seed,
  };
  return withModelSplit(manifests, target, options.split, logger, async (model, split) => {
    const embeddings = await encodeModelSplit(model, split, logger);
    const data = reportData(split.name, retrievalRanks(embeddings), split.captions(), split.captionFacets?.() ?? [], choices);
    const pictures = new Map<number, string>();
    if (split.renderImage) {
      const shown = new Set<number>();
      for (const c of [...data.sampledCaptions, ...data.worstCaptions]) [c.image, ...c.top.map((t) => t.image)].forEach((i) => shown.add(i));
      for (const c of [...data.sampledImages, ...data.worstImages]) shown.add(c.image);
      // Pixels at their own size: the page magnifies them without smoothing, and the file stays small.
      for (const image of shown) pictures.set(image, `data:image/png;base64,${Buffer.from(await split.renderImage(image, { scale: 1 })).toString('base64')}`);
    }
    const { source, settings, prepared } = model;
    const html = reportHtml(
      data,
      {
        title: settings.name ?? basename(source.runDir ?? source.checkpoint),
        description: typeof prepared.resolved.description === 'string' ? prepared.resolved.description : undefined,
        runDir: source.runDir,
        checkpoint: basename(source.checkpoint),
        epoch: model.state.epoch,
        created: new Date(),
      },
      (image) => pictures.get(image) ?? null,
    );
    const path = options.out ?? (source.runDir ? new RunFolder(source.runDir).report : join(dirname(source.checkpoint), 'report.html'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, html);
    logger.info(
      `report written to ${path}: t2i R@1 ${data.metrics['t2i/R1'].toFixed(1)}, i2t R@1 ${data.metrics['i2t/R1'].toFixed(1)} on '${data.split}' (${data.numImages} images)`,
    );
    const trackerRunId = options.track ? await logToTrackedRun(model, path, logger) : undefined;
    return { path, data, ...(trackerRunId ? { trackerRunId } : {}) };
  });
}

/**
 * Logs the report into the run's tracked run: the recipe's tracker re-opens it by the id its checkpoint keeps, adds
 * the artifact and closes it FINISHED again (the MLflow UI then shows it under the run's artifacts).
 */
async function logToTrackedRun(model: LoadedModel, path: string, logger: Logger): Promise<string | undefined> {
  const tracker = model.built.tracker;
  const runId = model.state.trackerRunId;
  if (!tracker || !runId) {
    logger.warn(`the report was not logged: ${tracker ? 'the checkpoint names no tracked run' : 'the recipe has no tracker'}`);
    return undefined;
  }
  try {
    const run = await tracker.startRun({ experiment: model.settings.experiment, runName: model.settings.name ?? basename(path), resumeRunId: runId });
    await run.logArtifact(path);
    await run.finish('FINISHED');
    logger.info(`report logged to ${tracker.location}, run ${runId}`);
    return runId;
  } finally {
    await tracker.close();
  }
}
