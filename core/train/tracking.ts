import type { BackendInfo, RunContext } from '../contracts/services';
import type { ExperimentTracker, TrackedRun } from '../contracts/tracker';
import { flattenRecipe } from '../recipe/flatten';
import { shnetVersion } from '../version';

/** Type names of the run's main plugins, for the run note. */
function typeAt(recipe: Readonly<Record<string, unknown>>, path: string): string {
  let node: unknown = recipe;
  for (const key of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[key];
  return String((node as { type?: unknown } | undefined)?.type ?? 'none');
}

/**
 * Opens the tracked run: experiment and name from the recipe, tags (run note, backend, version, recipe hash), and
 * the resolved recipe flattened into params. With `resumeRunId`, re-opens that run.
 */
export async function openTrackedRun(
  tracker: ExperimentTracker,
  context: RunContext,
  runName: string,
  backend: BackendInfo,
  resumeRunId?: string,
  resumedRecipeHash?: string,
): Promise<TrackedRun> {
  const recipe = context.recipe;
  const note =
    `${String(recipe.description ?? '').trim()}\n\n` +
    `dataset ${typeAt(recipe, 'data')}, image encoder ${typeAt(recipe, 'model.image')}, text encoder ${typeAt(recipe, 'model.text')}, ` +
    `loss ${typeAt(recipe, 'loss')}, optimizer ${typeAt(recipe, 'optimizer')}`;
  const run = await tracker.startRun({
    experiment: String(recipe.experiment ?? 'shnet'),
    runName,
    tags: {
      'mlflow.note.content': note.trim(),
      'shnet.backend': backend.name,
      'shnet.backend_threads': String(backend.threads),
      'shnet.version': shnetVersion,
      'shnet.recipe_hash': context.recipeHash,
    },
    ...(resumeRunId ? { resumeRunId } : {}),
  });
  // Params are write-once: a resume forced onto a changed recipe keeps the original params (the hash tag says which).
  if (resumedRecipeHash === undefined || resumedRecipeHash === context.recipeHash) {
    await run.logParams({ ...flattenRecipe(recipe), seed: String(context.seed), ...(context.plugins?.length ? { plugins: context.plugins.join(', ') } : {}) });
  }
  return run;
}

/**
 * Calls `onSignal` on the first SIGINT or SIGTERM until the returned function is called (which removes the
 * handlers). Training checks the flag between steps and ends the run as KILLED instead of dying mid-write.
 */
export function onTerminationSignal(onSignal: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals) => onSignal(signal);
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  };
}
