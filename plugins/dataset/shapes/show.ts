/** What `shnet data show` prints and writes for one image (see `command.ts`). */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { RunFolder, UsageError } from 'shnet';

import { resolveShapesOptions } from './options';
import { ShapesDataset } from './plugin';
import { describeScene, OVERLAY_COLOURS, renderScale } from './render';
import { CLASS_NAMES } from './vocabulary';

export interface ShowRequest {
  readonly id: number;
  readonly split: string;
  readonly overlay?: boolean;
  readonly scale?: number;
  /** A run folder whose recipe's `shapes` data node gives the options (before `options`). */
  readonly run?: string;
  /** Data set options from flags. */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface ShownImage {
  readonly split: string;
  readonly png: Uint8Array;
  readonly side: number;
  /** The objects, the overlay legend when drawn, and the captions, one per line. */
  readonly text: string;
}

export async function showImage(request: ShowRequest): Promise<ShownImage> {
  const options = resolveShapesOptions({ ...(request.run !== undefined ? runDataOptions(request.run) : {}), ...request.options }, 'data show');
  const split = await new ShapesDataset(options).open(request.split);
  if (request.id >= split.numImages) {
    throw new UsageError(`data show: image ${request.id} is not in split '${split.name}' (images 0..${split.numImages - 1})`);
  }
  const renderOptions = { overlay: request.overlay, scale: request.scale };
  const png = await split.renderImage(request.id, renderOptions);
  const scene = split.scene(request.id);
  const lines = [`shapes ${split.name}/${request.id} (seed ${options.seed}, ${options.imageSize}×${options.imageSize} pixels):`];
  lines.push(...describeScene(scene).map((l) => `  ${l}`));
  if (scene.partner !== null) lines.push(`  layout twin: ${split.name}/${scene.partner} (same objects, other positions)`);
  if (request.overlay) {
    const used = [...new Set(scene.objects.map((o) => CLASS_NAMES.indexOf(o.shape)))].sort();
    lines.push(`overlay: ${used.map((c) => `${CLASS_NAMES[c]} rgb(${OVERLAY_COLOURS[c].join(', ')})`).join(', ')}`);
  }
  lines.push(
    'captions:',
    ...split
      .captions()
      .slice(5 * request.id, 5 * request.id + 5)
      .map((c) => `  ${c}`),
  );
  return { split: split.name, png, side: options.imageSize * renderScale(options.imageSize, renderOptions), text: `${lines.join('\n')}\n` };
}

/** The `args` of a run's `shapes` data node, from its saved (resolved) recipe. */
function runDataOptions(dir: string): Record<string, unknown> {
  const folder = new RunFolder(dir);
  if (!existsSync(folder.recipe)) throw new UsageError(`data show --run ${dir}: no recipe.yaml there (not a run folder)`);
  const recipe = parse(readFileSync(folder.recipe, 'utf8')) as { data?: { type?: unknown; args?: Record<string, unknown> } } | null;
  if (recipe?.data?.type !== 'shapes') {
    throw new UsageError(`data show --run ${dir}: the run's data set is '${String(recipe?.data?.type)}', not shapes`);
  }
  return recipe.data.args ?? {};
}
