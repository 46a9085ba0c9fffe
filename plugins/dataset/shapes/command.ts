/**
 * `shnet data`, the commands of the built-in data set:
 * - `shnet data export --dataset shapes --out DIR`: writes the synthetic data set in the precomp file layout
 *   (see `export.ts`), for file-based data sets and for the reference implementation;
 * - `shnet data show ID`: one image as a PNG file (optionally with its ground-truth segmentation drawn over it), its
 *   objects and its five captions.
 */
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { type CliCommandContribution, UsageError } from 'shnet';

import { exportPrecomp } from './export';
import { showImage } from './show';

/** Flag → option name, for the options that `data export` passes through. */
const INTEGER_FLAGS = {
  seed: 'seed',
  trainSize: 'trainSize',
  devSize: 'devSize',
  testSize: 'testSize',
  imageSize: 'imageSize',
  regions: 'regionsPerImage',
  featureDim: 'featureDim',
} as const;
const NUMBER_FLAGS = { hardNegativeFraction: 'hardNegativeFraction', noise: 'noise' } as const;

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

/** Through commander's output hooks, so an embedding program (or a test) can capture what is printed. */
function printer(command: Command): (text: string) => void {
  return command.configureOutput().writeOut ?? ((text: string) => process.stdout.write(text));
}

function number(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new InvalidArgumentError('expected a number');
  return parsed;
}

interface ExportFlags {
  dataset: string;
  out: string;
  splits: string;
  regionPosition?: boolean;
  [flag: string]: unknown;
}

interface ShowFlags {
  split: string;
  out?: string;
  overlay?: boolean;
  scale?: number;
  run?: string;
  [flag: string]: unknown;
}

/** The data set options the generation flags set (the rest keep their defaults). */
function generationOptions(flags: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries({ ...INTEGER_FLAGS, ...NUMBER_FLAGS })) {
    if (flags[flag] !== undefined) options[option] = flags[flag];
  }
  if (flags.regionPosition) options.regionPosition = true;
  return options;
}

/** The flags that choose which synthetic data set is generated (its seed, sizes, noise…). */
function withGenerationFlags(command: Command): Command {
  return command
    .option('--seed <n>', 'data set seed', integer)
    .option('--train-size <n>', 'images in train', integer)
    .option('--dev-size <n>', 'images in dev', integer)
    .option('--test-size <n>', 'images in test', integer)
    .option('--image-size <n>', 'image side in pixels', integer)
    .option('--regions <n>', 'regions R per image', integer)
    .option('--feature-dim <n>', 'region descriptor width F', integer)
    .option('--hard-negative-fraction <x>', 'fraction of images in hard-negative pairs', number)
    .option('--noise <x>', 'per-pixel noise amplitude', number)
    .option('--region-position', 'append box centres to region descriptors');
}

/** The `data` command group, shared with other data set packages (`data wrap` comes with `precomp`): whichever registers first creates it. */
function dataCommandGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'data') ??
    program.command('data').description('data sets as files: export the built-in ones, wrap your own arrays, look at images')
  );
}

export const exportCommand: CliCommandContribution = {
  name: 'data export',
  register(program: Command): void {
    withGenerationFlags(
      dataCommandGroup(program)
        .command('export')
        .description('write a built-in data set in the precomp layout ({split}_caps.txt, _ims.npy, …)')
        .requiredOption('--dataset <name>', 'data set to export (shapes)')
        .requiredOption('--out <dir>', 'output folder (created if missing)')
        .option('--splits <list>', 'comma-separated splits', 'train,dev,test'),
    ).action((flags: ExportFlags, command: Command) => {
      if (flags.dataset !== 'shapes') {
        throw new UsageError(`data export: unknown dataset '${flags.dataset}' (built-in data sets: shapes)`);
      }
      const splits = flags.splits
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const print = printer(command);
      for (const written of exportPrecomp(generationOptions(flags), flags.out, splits)) {
        print(`${written.split}: ${written.numImages} images → ${flags.out}\n`);
      }
    });
  },
};

export const showCommand: CliCommandContribution = {
  name: 'data show',
  register(program: Command): void {
    withGenerationFlags(
      dataCommandGroup(program)
        .command('show')
        .argument('<id>', 'image index in the split', integer)
        .description('write one shapes image as PNG (--overlay: with its ground-truth segmentation) and print its objects and captions')
        .option('--split <name>', 'train, dev or test', 'test')
        .option('--out <file.png>', 'PNG file to write (default: shapes-<split>-<id>.png)')
        .option('--overlay', 'draw the ground-truth segmentation over the pixels (each class tinted and outlined)')
        .option('--scale <k>', 'magnification (each pixel a k×k block; default: about 256 px wide)', integer)
        .option('--run <run-dir>', "the data set of a run: the options of its recipe's shapes data node (flags given here win)"),
    ).action(async (id: number, flags: ShowFlags, command: Command) => {
      const shown = await showImage({ id, split: flags.split, overlay: flags.overlay, scale: flags.scale, run: flags.run, options: generationOptions(flags) });
      const out = flags.out ?? `shapes-${shown.split}-${id}.png`;
      writeFileSync(out, shown.png);
      printer(command)(`${shown.text}wrote ${out} (${shown.side}×${shown.side} pixels)\n`);
    });
  },
};
