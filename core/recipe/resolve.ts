import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../atomic-write';
import type { RunFolder } from '../run-folder';
import { RecipeKey } from './reserved-keys';
import { redactRecipe } from './secrets';

/** JSON with keys sorted at every level: the same recipe always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * sha256 (hex) of the canonical form of a resolved recipe, its secrets redacted (`core/recipe/secrets.ts`): a
 * secret is not part of what an experiment is, and a run's saved (redacted) recipe must hash as the run did.
 * @param secrets values the recipe marked `!secret` (`LoadedRecipe.secrets`)
 */
export function recipeHash(resolved: Record<string, unknown>, secrets: readonly string[] = []): string {
  return createHash('sha256')
    .update(canonicalJson(redactRecipe(resolved, secrets, false)))
    .digest('hex');
}

/**
 * Writes the run folder's `recipe.yaml` (the resolved recipe, seed written back, the `plugins:` list it needs to
 * load again, and every secret shown as `***`) and `recipe.sha256`, atomically. The hash is of the recipe as
 * resolved before the seed was written back, so a recipe that leaves the seed open hashes the same on every run.
 */
export function saveResolvedRecipe(folder: RunFolder, resolved: Record<string, unknown>, hash: string, seed: number, plugins: readonly string[] = []): string {
  mkdirSync(folder.dir, { recursive: true });
  const saved = redactRecipe({ ...(plugins.length > 0 ? { [RecipeKey.plugins]: [...plugins] } : {}), ...resolved, seed });
  const header = `# resolved recipe (extends, overrides and defaults applied); sha256 ${hash}\n`;
  writeFileAtomic(folder.recipe, header + stringify(saved));
  writeFileAtomic(folder.recipeHash, `${hash}\n`);
  return folder.recipe;
}
