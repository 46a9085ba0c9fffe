import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Executor, Trial, TrialOutcome } from '../contracts/executor';
import type { Logger } from '../contracts/services';
import type { ExperimentTracker, TrackedRun } from '../contracts/tracker';
import { RunFailure, UsageError } from '../errors';
import { isPlainObject } from '../recipe/located';
import { stringifyWithSecrets } from '../recipe/secrets';
import type { PluginManifest } from '../registry/plugin-spec';
import { prepareRecipe, preparedFrom } from '../run/prepare';
import { buildStandaloneNode, RunSession } from '../run/session';
import { describeAssignment, planSweep, type PlannedTrial, type SweepPlan } from './plan';
import { readState, tally, writeState, type SweepState } from './state';
import { formatPlan } from './table';
import { TRIAL_ENV } from '../run/trial-env';

export interface SweepOptions {
  readonly file: string;
  readonly overrides: readonly string[];
  readonly dryRun?: boolean;
  readonly resume?: boolean;
  readonly maxRetries?: number;
  readonly failFast?: boolean;
  readonly detach?: boolean;
  /** Executor settings from the command line, over the recipe's `executor:` node. */
  readonly executor?: { readonly type?: string; readonly args?: Record<string, unknown> };
}

export interface SweepResult {
  readonly plan: SweepPlan;
  readonly sweepDir?: string;
  readonly state?: SweepState;
}

/** The folder of a sweep: under the recipe's `output`, named by the sweep id (so `--resume` finds it again). */
export function sweepFolder(plan: SweepPlan): string {
  return resolve(plan.base.settings.output, 'sweeps', plan.id);
}

/**
 * `shnet sweep`: plan (every trial validated first), then one parent MLflow run, then the trials through the
 * executor, recording each trial's status in the sweep folder's state file as it changes.
 */
export async function runSweep(
  manifests: readonly PluginManifest[],
  options: SweepOptions,
  logger: Logger,
  out = (text: string) => void process.stdout.write(text),
): Promise<SweepResult> {
  const plan = planSweep(options.file, options.overrides, manifests);
  if (options.dryRun) {
    out(formatPlan(plan));
    return { plan };
  }
  const sweepDir = sweepFolder(plan);
  const previous = readState(sweepDir);
  if (previous && !options.resume && Object.values(previous.trials).some((t) => t.status !== 'pending')) {
    throw new UsageError(`sweep ${plan.id} has already run in ${sweepDir}: pass --resume to continue it (or remove the folder to start over)`);
  }
  // Validation read the recipe's plugin packages as data; the sweep's executor may come from them, so their code
  // is loaded here (refused without --allow-plugins), as a run loads it.
  const withCode = plan.base.plugins.length > 0 ? preparedFrom(plan.base.loaded, manifests, { loadPluginCode: true }) : plan.base;
  const executor = buildStandaloneNode<Executor>(withCode.manifests, 'executor', executorNode(plan, options), 'executor', logger);
  if (options.detach && !executor.detachable)
    throw new UsageError(`--detach needs an executor whose trials outlive this process (not ${executor.description})`);
  const session = await RunSession.start(withCode, { seed: 0, runDir: sweepDir, logger, backend: 'none' });
  const tracker = session.buildOptional<ExperimentTracker>('tracker', 'tracker');
  const state = previous ?? newState(plan, sweepDir);
  writeSweepFiles(plan, sweepDir, manifests);
  writeState(sweepDir, state);

  const parent = tracker ? await openParentRun(tracker, plan, state, sweepDir) : null;
  writeState(sweepDir, state);
  logger.info(
    `sweep ${plan.id}: ${plan.trials.length} trials, folder ${sweepDir}, executor ${executor.description}${parent ? `, parent run ${state.parentTag}` : ''}`,
  );

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    logger.warn(`${signal} received: stopping the sweep (resume it with --resume)`);
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const report = () => {
    const counts = tally(state);
    logger.info(`sweep ${plan.id}: ${counts.done}/${plan.trials.length} done, ${counts.running} running, ${counts.failed} failed`);
  };
  const onUpdate = (outcome: TrialOutcome) => {
    const record = state.trials[outcome.id];
    if (!record) return;
    Object.assign(record, { status: outcome.status, updatedAt: new Date().toISOString() });
    if (outcome.runId) record.runId = outcome.runId;
    if (outcome.status === 'failed') record.error = outcome.error;
    else delete record.error;
    writeState(sweepDir, state);
    report();
  };

  let status: 'FINISHED' | 'FAILED' | 'KILLED' = 'FAILED';
  try {
    const retries = new Map<string, number>();
    let todo = plan.trials.filter((t) => state.trials[t.id].status !== 'done');
    if (todo.length < plan.trials.length) logger.info(`sweep ${plan.id}: ${plan.trials.length - todo.length} trials already done, ${todo.length} to run`);
    while (todo.length > 0) {
      const batch = todo.map((t) => submission(t, plan, state, sweepDir));
      writeState(sweepDir, state);
      const outcomes = await executor.execute(batch, onUpdate, { failFast: options.failFast, signal: controller.signal, detach: options.detach });
      for (const outcome of outcomes) if (state.trials[outcome.id]?.status !== outcome.status) onUpdate(outcome);
      if (options.detach || controller.signal.aborted) break;
      const failed = outcomes.filter((o) => o.status === 'failed');
      if (failed.length > 0 && options.failFast) break;
      todo = plan.trials.filter((t) => failed.some((o) => o.id === t.id) && (retries.get(t.id) ?? 0) < (options.maxRetries ?? 1));
      for (const trial of todo) {
        retries.set(trial.id, (retries.get(trial.id) ?? 0) + 1);
        logger.warn(`trial ${trial.id} failed (${state.trials[trial.id].error}); retry ${retries.get(trial.id)} of ${options.maxRetries ?? 1}`);
      }
    }
    const counts = tally(state);
    status = controller.signal.aborted ? 'KILLED' : counts.failed > 0 ? 'FAILED' : 'FINISHED';
    if (options.detach) {
      logger.info(`sweep ${plan.id}: detached; follow it with \`shnet sweep ${options.file} --resume\``);
    } else if (parent) {
      await parent.logMetrics([
        { key: 'sweep/done', value: counts.done, step: 0 },
        { key: 'sweep/failed', value: counts.failed, step: 0 },
      ]);
    }
    if (!options.detach && status === 'FINISHED')
      out(`sweep ${plan.id}: all ${plan.trials.length} trials done; compare them with \`shnet compare --sweep ${plan.id}\`\n`);
    if (controller.signal.aborted)
      throw new RunFailure(`sweep ${plan.id} interrupted: ${counts.done} of ${plan.trials.length} trials done; continue with --resume`);
    if (counts.failed > 0) {
      const failed = Object.entries(state.trials).filter(([, t]) => t.status === 'failed');
      throw new RunFailure(`sweep ${plan.id}: ${failed.length} trials failed:\n${failed.map(([id, t]) => `  ${id}: ${t.error}`).join('\n')}`);
    }
    return { plan, sweepDir, state };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await executor.close?.();
    if (parent) {
      if (options.detach) await parent.flush();
      else await parent.finish(status);
    }
    await tracker?.close();
  }
}

function newState(plan: SweepPlan, sweepDir: string): SweepState {
  const now = new Date().toISOString();
  return {
    version: 1,
    sweepId: plan.id,
    sweepFile: plan.sweep.file,
    recipe: plan.sweep.recipe,
    trials: Object.fromEntries(
      plan.trials.map((t) => [
        t.id,
        {
          status: 'pending',
          attempts: 0,
          assignment: { ...t.assignment },
          recipeFile: trialRecipeFile(plan, sweepDir, t),
          runDir: trialDir(sweepDir, t, 'run'),
          updatedAt: now,
        },
      ]),
    ),
  };
}

function trialDir(sweepDir: string, trial: PlannedTrial, ...rest: string[]): string {
  return join(sweepDir, 'trials', trial.id, ...rest);
}

/** Named like the sweep's recipe, so a trial's run is named as `shnet run RECIPE` would name it. */
function trialRecipeFile(plan: SweepPlan, sweepDir: string, trial: PlannedTrial): string {
  return trialDir(sweepDir, trial, `${basename(plan.sweep.recipe, extname(plan.sweep.recipe))}.yaml`);
}

/** The trial as handed to the executor: attempts counted, the environment that makes its run a child of the sweep's. */
function submission(trial: PlannedTrial, plan: SweepPlan, state: SweepState, sweepDir: string): Trial {
  const record = state.trials[trial.id];
  // A trial still pending or running was interrupted (or is still on a queue): continuing it is the same attempt.
  if (record.status === 'failed' || record.attempts === 0) record.attempts++;
  if (record.status === 'failed') record.status = 'pending';
  return {
    id: trial.id,
    recipe: trial.prepared.resolved,
    assignment: trial.assignment,
    sweepId: plan.id,
    recipeFile: record.recipeFile,
    runDir: record.runDir,
    logFile: trialDir(sweepDir, trial, 'trial.log'),
    attempt: record.attempts,
    env: {
      [TRIAL_ENV.sweepId]: plan.id,
      [TRIAL_ENV.trialId]: trial.id,
      ...(state.parentTag ? { [TRIAL_ENV.parentRunId]: state.parentTag } : {}),
    },
  };
}

/**
 * Writes the sweep file, the plan and every trial's resolved recipe into the sweep folder, and checks that each
 * trial recipe file resolves, through the same path as `shnet run`, to its trial's hash.
 */
function writeSweepFiles(plan: SweepPlan, sweepDir: string, manifests: readonly PluginManifest[]): void {
  mkdirSync(sweepDir, { recursive: true });
  copyFileSync(plan.sweep.file, join(sweepDir, 'sweep.yaml'));
  writeFileSync(join(sweepDir, 'plan.json'), `${JSON.stringify(planJson(plan), null, 2)}\n`);
  const mismatched: string[] = [];
  for (const trial of plan.trials) {
    const file = trialRecipeFile(plan, sweepDir, trial);
    mkdirSync(trialDir(sweepDir, trial), { recursive: true });
    const header = `# sweep ${plan.id}, trial ${trial.id}: ${describeAssignment(trial.assignment)}\n`;
    // A trial's recipe is what its process runs, so secrets stay in it, marked (and readable by the user only).
    const { plugins, resolved, loaded } = trial.prepared;
    const text = header + stringifyWithSecrets({ ...(plugins.length ? { plugins } : {}), ...resolved }, loaded.secrets);
    writeFileSync(file, text, { mode: loaded.secrets.length > 0 ? 0o600 : 0o644 });
    const hash = prepareRecipe(file, [], manifests).hash;
    if (hash !== trial.hash) mismatched.push(`${trial.id} (${file} resolves to ${hash.slice(0, 12)})`);
  }
  if (mismatched.length > 0) throw new RunFailure(`trial recipes do not reproduce their trials: ${mismatched.join(', ')}`);
}

export function planJson(plan: SweepPlan): Record<string, unknown> {
  return {
    sweepId: plan.id,
    sweepFile: plan.sweep.file,
    recipe: plan.sweep.recipe,
    overrides: plan.overrides,
    spec: plan.sweep.spec,
    keys: plan.keys,
    trials: plan.trials.map((t) => ({ id: t.id, index: t.index, assignment: t.assignment, sha256: t.hash })),
    duplicates: plan.duplicates,
  };
}

/** The executor node: the command line's type and args over the recipe's `executor:` (default `local`). */
function executorNode(plan: SweepPlan, options: SweepOptions): Record<string, unknown> {
  const recipeNode = plan.base.resolved.executor;
  const fromRecipe = isPlainObject(recipeNode) ? recipeNode : { type: 'local' };
  const type = options.executor?.type ?? String(fromRecipe.type);
  const recipeArgs = type === fromRecipe.type && isPlainObject(fromRecipe.args) ? fromRecipe.args : {};
  return { type, args: { ...recipeArgs, ...options.executor?.args } };
}

/** Opens (or, on resume, re-opens) the sweep's parent run: sweep settings as params, sweep file and plan as artifacts. */
async function openParentRun(tracker: ExperimentTracker, plan: SweepPlan, state: SweepState, sweepDir: string): Promise<TrackedRun> {
  const name = plan.base.settings.name ?? basename(plan.sweep.recipe, extname(plan.sweep.recipe));
  const run = await tracker.startRun({
    experiment: plan.base.settings.experiment,
    runName: `sweep-${name}-${plan.id}`,
    tags: {
      'shnet.sweep_id': plan.id,
      'mlflow.note.content': `sweep of ${plan.trials.length} trials over ${plan.keys.join(', ')} (${basename(plan.sweep.file)})`,
    },
    ...(state.parentRunId ? { resumeRunId: state.parentRunId } : {}),
  });
  if (!state.parentRunId) {
    const spec = plan.sweep.spec;
    await run.logParams({
      'sweep.id': plan.id,
      'sweep.recipe': plan.sweep.recipe,
      'sweep.trials': plan.trials.length,
      'sweep.keys': plan.keys.join(','),
      ...Object.fromEntries(spec.grid.map(([key, values]) => [`sweep.grid.${key}`, JSON.stringify(values)])),
      ...Object.fromEntries(spec.random.map(([key, d]) => [`sweep.random.${key}`, JSON.stringify(d)])),
      ...(spec.random.length ? { 'sweep.samples': spec.samples, 'sweep.seed': spec.seed } : {}),
      ...(spec.seeds.length ? { 'sweep.seeds': JSON.stringify(spec.seeds) } : {}),
      ...(spec.budget !== undefined ? { 'sweep.budget': spec.budget } : {}),
      ...(plan.overrides.length ? { 'sweep.overrides': JSON.stringify(plan.overrides) } : {}),
    });
    await run.logArtifact(join(sweepDir, 'sweep.yaml'));
    await run.logArtifact(join(sweepDir, 'plan.json'));
  }
  await run.flush();
  state.parentRunId = run.runId;
  // Trials may log to other machines' local stores: the server's id is the one that means the same run everywhere.
  state.parentTag = run.remoteRunId ?? state.parentTag ?? run.runId;
  return run;
}
