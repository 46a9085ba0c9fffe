import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './python-env';

/** The shipped full-model recipe on the synthetic shapes data set. */
export const SHAPES_3SHNET = join(REPO_ROOT, 'recipes', 'shapes', '3shnet.yaml');

/**
 * `--set` overrides that shrink recipes/shapes/3shnet.yaml to a run of seconds on the wasm backend: a few tiny
 * images, narrow layers, `epochs` passes of two steps each.
 */
export function tinyShapesOverrides(epochs = 1): string[] {
  return [
    'backend=wasm',
    'seed=3',
    'data.args.trainSize=16',
    'data.args.devSize=8',
    'data.args.testSize=8',
    'data.args.imageSize=16',
    'data.args.regionsPerImage=4',
    'data.args.featureDim=53',
    'data.args.maxObjects=3',
    `train.epochs=${epochs}`,
    'train.batchSize=8',
    'train.validationImages=8',
    'vars.embedDim=16',
    'model.text.args.wordDim=8',
    'model.image.highlight.spatial.args.keyDim=8',
  ];
}

/** `--set a --set b …` */
export function setFlags(overrides: readonly string[]): string[] {
  return overrides.flatMap((o) => ['--set', o]);
}

/** A fresh folder holding a sweep file `{recipe, sweep}` with the given `sweep:` body (YAML). */
export function writeSweepFile(sweepYaml: string, recipe = SHAPES_3SHNET): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'shnet-sweep-'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(file, `recipe: ${JSON.stringify(recipe)}\nsweep:\n${sweepYaml.replace(/^/gm, '  ')}\n`);
  return { dir, file };
}
