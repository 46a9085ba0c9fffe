import { basename } from 'node:path';
import type { EvaluationReport } from '../contracts/evaluation';
import type { Logger } from '../contracts/services';
import type { ExperimentTracker, TrackedRun } from '../contracts/tracker';
import { UsageError } from '../errors';
import type { PluginManifest } from '../registry/plugin-spec';
import type { EnsembleEvaluation, EvalTarget } from './evaluate-model';
import { locateModel } from './load-run';
import { prepareRecipe } from './prepare';
import { RunSession } from './session';

/**
 * Records an ensemble evaluation through the tracker of the first member's recipe: a parent run holding the
 * ensemble's metrics (`eval/…`) and one child run per member (`mlflow.parentRunId`) holding that member's metrics
 * on the same split, so the tracker's UI shows the hybrid beside its parts. Returns the parent run's id.
 */
export async function trackEnsemble(
  manifests: readonly PluginManifest[],
  targets: readonly EvalTarget[],
  result: EnsembleEvaluation,
  logger: Logger,
): Promise<string> {
  const source = locateModel(targets[0].target, targets[0].recipe);
  const prepared = prepareRecipe(source.recipe, targets[0].overrides, manifests, { loadPluginCode: true });
  const session = await RunSession.start(prepared, { seed: 0, runDir: source.runDir ?? '.', logger, backend: 'none' });
  const tracker = session.buildOptional<ExperimentTracker>('tracker', 'tracker');
  if (tracker === null) throw new UsageError(`--track: the recipe ${source.recipe} has no tracker`);
  const { experiment } = prepared.settings;
  const split = result.members[0].split;
  const names = targets.map((t) => basename(t.target));
  try {
    const parent = await tracker.startRun({
      experiment,
      runName: `ensemble-${split}`,
      tags: { 'mlflow.note.content': `Ensemble (mean similarity) of ${names.join(', ')} on '${split}'`, 'shnet.ensemble.members': names.join(',') },
    });
    await logReport(parent, result.ensemble, { split, members: String(targets.length) });
    for (const [i, member] of result.members.entries()) {
      const child = await tracker.startRun({ experiment, runName: names[i], parentRunId: parent.runId, tags: { 'shnet.checkpoint': member.checkpoint } });
      await logReport(child, member.report, { split, checkpoint: member.checkpoint });
      await child.finish('FINISHED');
    }
    await parent.finish('FINISHED');
    logger.info(`ensemble logged to ${tracker.location}: parent run ${parent.runId} with ${targets.length} child runs`);
    return parent.runId;
  } finally {
    await tracker.close();
  }
}

async function logReport(run: TrackedRun, report: EvaluationReport, params: Record<string, string>): Promise<void> {
  await run.logParams({ ...params, protocol: report.protocol });
  await run.logMetrics(Object.entries(report.metrics).map(([key, value]) => ({ key: `eval/${key}`, value, step: 0 })));
}
