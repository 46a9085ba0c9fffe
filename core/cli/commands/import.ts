import { dirname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { Logger } from '../../contracts/services';
import { applyImport, describePlan, planImport, readSourceCheckpoint, requireCheckpointFile, type ImportPlan } from '../../io/checkpoint-import';
import { checkImport, IMPORT_ENCODERS, importBlocks, inflateLimits, sourceEncoders, type ImportEncoder } from '../../io/import-rules';
import type { PluginManifest } from '../../registry/plugin-spec';
import { prepareRecipe } from '../../run/prepare';
import { RunSession } from '../../run/session';
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
  const prepared = prepareRecipe(options.recipe, options.overrides, manifests, { loadPluginCode: true, withoutTraining: true });
  requireCheckpointFile(options.checkpoint);
  // Weights the checkpoint lacks keep the recipe's initial values, reproducible from its seed.
  const runDir = resolve(options.out ? dirname(options.out) : '.');
  const session = await RunSession.start(prepared, { seed: prepared.settings.seed ?? 0, runDir, logger });
  const { dataset, imageEncoder, textEncoder, loss, optimizer } = session.buildRun();
  const rng = session.rng;
  if (textEncoder.prepare) {
    // A word-level encoder owns no embedding before it has a vocabulary; build it as training would.
    const split = await dataset.open(prepared.settings.train.split);
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
      bestScore: bestRsum,
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
