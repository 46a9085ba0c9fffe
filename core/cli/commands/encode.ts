import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from '../../contracts/services';
import { writeNpy } from '../../io/npy/npy';
import type { PluginManifest } from '../../registry/plugin-spec';
import { encodeModelSplit, withModelSplit } from '../../run/evaluate-model';
import { withOverrides } from '../options';

interface EncodeCliOptions {
  set: string[];
  split?: string;
  out: string;
  recipe?: string;
  data?: string;
}

/**
 * `shnet encode`: a split's embeddings as files, the basis of retrieval outside training: `images.npy` `[N, D]`,
 * `captions.npy` `[5N, D]` (float32, data set order: caption j describes image ⌊j/5⌋), `captions.txt` (one
 * caption a line, same order) and `encode.json` (where they came from).
 */
export function registerEncode(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('encode')
      .argument('<target>', 'a run folder (its best checkpoint and recipe.yaml) or a checkpoint file')
      .description('write the image [N, D] and caption [5N, D] embeddings of a split as .npy files')
      .requiredOption('--out <dir>', 'output folder')
      .option('--split <name>', "split to encode (default: the recipe's evaluate.split)")
      .option('--recipe <file>', 'recipe of a checkpoint that is not inside a run folder')
      .option('--data <node>', "another data set, as YAML, e.g. '{type: shapes, args: {seed: 7}}' (same as --set data=…)"),
  ).action(async (target: string, options: EncodeCliOptions) => {
    const overrides = [...options.set, ...(options.data !== undefined ? [`data=${options.data}`] : [])];
    const log = logger();
    await withModelSplit(manifests, { target, recipe: options.recipe, overrides }, options.split, log, async (model, data) => {
      const embeddings = await encodeModelSplit(model, data, log);
      mkdirSync(options.out, { recursive: true });
      writeNpy(join(options.out, 'images.npy'), embeddings.images, [embeddings.numImages, embeddings.dim]);
      writeNpy(join(options.out, 'captions.npy'), embeddings.captions, [5 * embeddings.numImages, embeddings.dim]);
      writeFileSync(
        join(options.out, 'captions.txt'),
        `${data
          .captions()
          .slice(0, 5 * embeddings.numImages)
          .join('\n')}\n`,
      );
      const about = {
        checkpoint: model.source.checkpoint,
        recipe: model.source.recipe,
        split: data.name,
        numImages: embeddings.numImages,
        dim: embeddings.dim,
        overrides,
      };
      writeFileSync(join(options.out, 'encode.json'), `${JSON.stringify(about, null, 2)}\n`);
      log.info(
        `wrote images.npy [${embeddings.numImages}, ${embeddings.dim}] and captions.npy [${5 * embeddings.numImages}, ${embeddings.dim}] to ${options.out}`,
      );
    });
  });
}
