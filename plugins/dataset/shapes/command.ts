/**
 * `shnet data export --dataset shapes --out DIR`: writes the synthetic data set in the precomp file layout
 * (see `export.ts`), for file-based data sets and for the reference implementation.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { type CliCommandContribution, UsageError } from 'shnet';

import { exportPrecomp } from './export';

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

export const dataCommand: CliCommandContribution = {
  name: 'data export',
  register(program: Command): void {
    // The group is shared with `data wrap` (plugins/dataset/precomp/command.ts); whichever registers first creates it.
    const data =
      program.commands.find((c) => c.name() === 'data') ??
      program.command('data').description('data sets as files: export the built-in ones, wrap your own arrays');
    data
      .command('export')
      .description('write a built-in data set in the precomp layout ({split}_caps.txt, _ims.npy, …)')
      .requiredOption('--dataset <name>', 'data set to export (shapes)')
      .requiredOption('--out <dir>', 'output folder (created if missing)')
      .option('--splits <list>', 'comma-separated splits', 'train,dev,test')
      .option('--seed <n>', 'data set seed', integer)
      .option('--train-size <n>', 'images in train', integer)
      .option('--dev-size <n>', 'images in dev', integer)
      .option('--test-size <n>', 'images in test', integer)
      .option('--image-size <n>', 'image side in pixels', integer)
      .option('--regions <n>', 'regions R per image', integer)
      .option('--feature-dim <n>', 'region descriptor width F', integer)
      .option('--hard-negative-fraction <x>', 'fraction of images in hard-negative pairs', number)
      .option('--noise <x>', 'per-pixel noise amplitude', number)
      .option('--region-position', 'append box centres to region descriptors')
      .action((flags: ExportFlags, command: Command) => {
        if (flags.dataset !== 'shapes') {
          throw new UsageError(`data export: unknown dataset '${flags.dataset}' (built-in data sets: shapes)`);
        }
        const options: Record<string, unknown> = {};
        for (const [flag, option] of Object.entries({ ...INTEGER_FLAGS, ...NUMBER_FLAGS })) {
          if (flags[flag] !== undefined) options[option] = flags[flag];
        }
        if (flags.regionPosition) options.regionPosition = true;
        const splits = flags.splits
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        // Through commander's output hooks, so an embedding program (or a test) can capture what is printed.
        const print = command.configureOutput().writeOut ?? ((text: string) => process.stdout.write(text));
        for (const written of exportPrecomp(options, flags.out, splits)) {
          print(`${written.split}: ${written.numImages} images → ${flags.out}\n`);
        }
      });
  },
};
