import { dirname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { describeBackend, selectBackend, type BackendRequest } from '../../backend/select';
import { buildNode } from '../../build/builder';
import type { Dataset } from '../../contracts/dataset';
import type { ImageEncoder } from '../../contracts/image';
import type { Logger } from '../../contracts/services';
import type { TextEncoder } from '../../contracts/text';
import type { Loss, Optimizer } from '../../contracts/training';
import { bindDataInfo, createRootContainer, createRunContainer } from '../../di/containers';
import { applyImport, describePlan, planImport, readSourceCheckpoint, requireCheckpointFile, type ImportPlan } from '../../io/checkpoint-import';
import { checkImport, IMPORT_ENCODERS, importBlocks, inflateLimits, sourceEncoders, type ImportEncoder } from '../../io/import-rules';
import type { PluginKind } from '../../kinds';
import type { RootSettingsValue } from '../../recipe/root';
import { getPath } from '../../recipe/validate';
import type { PluginManifest } from '../../registry/plugin-spec';
import { prepareRecipe } from '../../run/prepare';
import { createRng } from '../../services/rng';
import { saveCheckpoint } from '../../train/checkpoint';
import { runParameters } from '../../train/parameters';
import { withOverrides } from '../options';

export interface ImportOptions {
  readonly checkpoint: string;
  readonly recipe: string;
  readonly overrides: readonly string[];
  /** Where to write the shnet checkpoint; nothing is written without it. */
  readonly out?: string;
  /** Any unexpected, missing or mis-shaped key is an error (exit 2), and nothing is written. */
  readonly strict?: boolean;
  /** Missing or mis-shaped weights keep their initial values instead of failing the import. */
  readonly allowMissing?: boolean;
  /** Import one encoder only (a checkpoint of the image encoder alone, say). */
  readonly only?: ImportEncoder;
}

export interface ImportOutcome {
  readonly plan: ImportPlan;
  /** The report printed on stdout, one line each. */
  readonly report: string[];
}

/**
 * `shnet import`: builds the recipe's model (as `shnet run` does, without training), maps a reference checkpoint
 * onto it, reports every key that does not fit, and writes the imported weights as a shnet checkpoint that
 * `loadCheckpoint` (and so evaluation and resumption) accepts.
 */
export async function importCheckpoint(manifests: readonly PluginManifest[], options: ImportOptions, logger: Logger): Promise<ImportOutcome> {
  const prepared = prepareRecipe(options.recipe, options.overrides, manifests);
  const settings = prepared.resolved as unknown as RootSettingsValue & Record<string, unknown>;
  requireCheckpointFile(options.checkpoint);
  const backend = await selectBackend(settings.backend as BackendRequest);
  logger.info(describeBackend(backend));
  // Weights the checkpoint lacks keep the recipe's initial values, reproducible from its seed.
  const seed = settings.seed ?? 0;
  const rng = createRng(seed);
  const root = createRootContainer([...manifests, ...prepared.registry.loadedManifests().filter((m) => !manifests.includes(m))], logger);
  const runDir = resolve(options.out ? dirname(options.out) : '.');
  const run = createRunContainer(root, { rng, backend, context: { runDir, recipe: prepared.resolved, recipeHash: prepared.hash, seed } });
  const build = <T>(path: string, kind: PluginKind): T => buildNode<T>(prepared.registry, run, getPath(prepared.resolved, path), path, kind);
  const dataset = build<Dataset>('data', 'dataset');
  bindDataInfo(run, dataset.info);
  const imageEncoder = build<ImageEncoder>('model.image', 'image-encoder');
  const textEncoder = build<TextEncoder>('model.text', 'text-encoder');
  const loss = build<Loss>('loss', 'loss');
  const optimizer = build<Optimizer>('optimizer', 'optimizer');
  if (textEncoder.prepare) {
    // A word-level encoder owns no embedding before it has a vocabulary; build it as training would.
    const split = await dataset.open(settings.train.split);
    try {
      textEncoder.prepare(split.captions());
    } finally {
      await split.close();
    }
  }
  const lossOwner = { parameters: () => loss.parameters?.() ?? [], dispose: () => undefined };
  const blocks = importBlocks(imageEncoder, textEncoder, lossOwner, options.only);
  const checkpoint = readSourceCheckpoint(options.checkpoint, { encoders: sourceEncoders(blocks), only: options.only, limits: inflateLimits(blocks) });
  let plan: ImportPlan;
  let report: string[];
  try {
    plan = planImport(checkpoint, blocks);
    report = describePlan(plan, checkpoint);
    checkImport(plan, report, options, options.recipe);
    applyImport(plan);
  } finally {
    checkpoint.close();
  }
  if (options.out) {
    const epoch = typeof checkpoint.info.epoch === 'number' ? checkpoint.info.epoch : 0;
    const bestRsum = typeof checkpoint.info.best_rsum === 'number' ? checkpoint.info.best_rsum : null;
    saveCheckpoint(options.out, runParameters({ imageEncoder, textEncoder, loss }), optimizer, {
      step: 0,
      epoch,
      optimizerStep: 0,
      rng: rng.state(),
      bestRsum,
      tokenizer: textEncoder.tokenizerState?.(),
      recipeHash: prepared.hash,
    });
    report.push(`wrote ${options.out}`);
  }
  imageEncoder.dispose();
  textEncoder.dispose();
  loss.dispose?.();
  optimizer.dispose();
  return { plan, report };
}

/** `shnet import CHECKPOINT --recipe R [--out FILE] [--only image|text] [--allow-missing] [--strict]`. */
export function registerImport(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('import')
      .argument('<checkpoint>', "reference checkpoint: a torch.save .pth ({'model': [img_enc, txt_enc], …}) or a .safetensors")
      .description("map a reference (PyTorch) checkpoint onto the recipe's model and write it as a shnet checkpoint")
      .requiredOption('--recipe <file>', 'recipe whose model receives the weights')
      .option('--out <file>', 'write the imported weights here (safetensors); without it, only report')
      .addOption(new Option('--only <encoder>', 'import the image or the text encoder only; the other keeps its initial values').choices(IMPORT_ENCODERS))
      .option('--allow-missing', 'weights missing from the checkpoint or mis-shaped keep their initial values (default: exit 2, nothing written)')
      .option('--strict', 'also refuse checkpoint keys that fit nothing in the model (exit 2)'),
  ).action(
    async (checkpoint: string, options: { recipe: string; out?: string; strict?: boolean; allowMissing?: boolean; only?: ImportEncoder; set: string[] }) => {
      const { report } = await importCheckpoint(
        manifests,
        {
          checkpoint,
          recipe: options.recipe,
          overrides: options.set,
          out: options.out,
          strict: options.strict,
          allowMissing: options.allowMissing,
          only: options.only,
        },
        logger(),
      );
      process.stdout.write(`${report.join('\n')}\n`);
    },
  );
}
