import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from '../../contracts/services';
import { UsageError } from '../../errors';
import { applyImport, describePlan, planImport, problemCount, readSourceCheckpoint, type ImportBlock, type ImportPlan } from '../../io/checkpoint-import';
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
  const prepared = prepareRecipe(options.recipe, options.overrides, manifests, { loadPluginCode: true });
  const checkpoint = readSourceCheckpoint(options.checkpoint);
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
  const blocks: ImportBlock[] = [
    { name: 'image', reference: 'img_enc', owner: imageEncoder },
    { name: 'text', reference: 'txt_enc', owner: textEncoder },
    { name: 'loss', owner: { parameters: () => loss.parameters?.() ?? [], dispose: () => undefined } },
  ];
  const plan = planImport(checkpoint, blocks);
  const report = describePlan(plan, checkpoint);
  if (options.strict && problemCount(plan) > 0) {
    throw new UsageError(`${report.join('\n')}\n--strict: ${problemCount(plan)} keys do not fit the model of ${options.recipe}; nothing written`);
  }
  applyImport(plan);
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

/** `shnet import CHECKPOINT --recipe R [--out FILE] [--strict]`. */
export function registerImport(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('import')
      .argument('<checkpoint>', "reference checkpoint: a torch.save .pth ({'model': [img_enc, txt_enc], …}) or a .safetensors")
      .description("map a reference (PyTorch) checkpoint onto the recipe's model and write it as a shnet checkpoint")
      .requiredOption('--recipe <file>', 'recipe whose model receives the weights')
      .option('--out <file>', 'write the imported weights here (safetensors); without it, only report')
      .option('--strict', 'any unexpected, missing or mis-shaped key is an error (exit 2)'),
  ).action(async (checkpoint: string, options: { recipe: string; out?: string; strict?: boolean; set: string[] }) => {
    const { report } = await importCheckpoint(
      manifests,
      { checkpoint, recipe: options.recipe, overrides: options.set, out: options.out, strict: options.strict },
      logger(),
    );
    process.stdout.write(`${report.join('\n')}\n`);
  });
}
