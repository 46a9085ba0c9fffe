import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from '../../contracts/services';
import { writeNpy } from '../../io/npy/npy';
import type { PluginManifest } from '../../registry/plugin-spec';
import type { DatasetSplit } from '../../contracts/dataset';
import { encodeModelSplit, withModelSplit } from '../../run/evaluate-model';
import type { LoadedModel } from '../../run/load-run';
import { createRng } from '../../services/rng';
import { DEFAULT_ENCODE_CHUNK } from '../../train/encode';
import { encodeImages } from '../../train/encode-images';
import { withOverrides } from '../options';

interface EncodeCliOptions {
  set: string[];
  split?: string;
  out: string;
  recipe?: string;
  data?: string;
  imagesOnly?: boolean;
}

/**
 * `shnet encode`: a split's embeddings as files, the basis of retrieval outside training: `images.npy` `[N, D]`,
 * `captions.npy` `[5N, D]` (float32, data set order: caption j describes image ⌊j/5⌋), `captions.txt` (one
 * caption a line, same order) and `encode.json` (where they came from). `--images-only` writes `images.npy` alone,
 * without reading a caption or running the text encoder (a split of features you wrapped without captions).
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
      .option('--data <node>', "another data set, as YAML, e.g. '{type: shapes, args: {seed: 7}}' (same as --set data=…)")
      .option('--images-only', 'encode the images alone: images.npy, no captions read and no text encoder run'),
  ).action(async (target: string, options: EncodeCliOptions) => {
    const overrides = [...options.set, ...(options.data !== undefined ? [`data=${options.data}`] : [])];
    const log = logger();
    await withModelSplit(manifests, { target, recipe: options.recipe, overrides }, options.split, log, async (model, data) => {
      if (options.imagesOnly) return writeImagesOnly(model, data, options.out, overrides, log);
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

/** `--images-only`: the split's image embeddings `[N, D]` and `encode.json`. */
async function writeImagesOnly(model: LoadedModel, data: DatasetSplit, out: string, overrides: readonly string[], log: Logger): Promise<void> {
  const started = Date.now();
  // The stream evaluation encodes with (core/run/evaluate-model.ts), so both give the same image embeddings.
  const images = await encodeImages(data, data.numImages, model.built.imageEncoder, createRng(model.state.seed ?? 0).fork('test'), DEFAULT_ENCODE_CHUNK);
  const dim = model.built.imageEncoder.embedDim;
  mkdirSync(out, { recursive: true });
  writeNpy(join(out, 'images.npy'), images, [data.numImages, dim]);
  const about = {
    checkpoint: model.source.checkpoint,
    recipe: model.source.recipe,
    split: data.name,
    numImages: data.numImages,
    dim,
    imagesOnly: true,
    overrides,
  };
  writeFileSync(join(out, 'encode.json'), `${JSON.stringify(about, null, 2)}\n`);
  log.info(
    `encoded '${data.name}': ${data.numImages} images, ${dim}-d, in ${((Date.now() - started) / 1000).toFixed(1)} s; wrote images.npy [${data.numImages}, ${dim}] to ${out}`,
  );
}
