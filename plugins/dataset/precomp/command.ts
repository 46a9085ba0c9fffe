/**
 * `shnet data wrap`: arrays you already have → one split of a precomp folder (wrap.ts). The `data` command group is
 * shared with other data set packages (`data export` comes with `shapes`): whichever registers first creates it.
 */
import type { Command } from 'commander';
import type { CliCommandContribution } from 'shnet';

import { wrapArrays } from './wrap';

interface WrapFlags {
  out: string;
  split: string;
  features: string;
  captions?: string;
  segmentations?: string;
  segMaps?: string;
  categories?: string;
}

/** The `data` command group, created by the first package that contributes a sub-command to it. */
function dataCommandGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'data') ??
    program.command('data').description('data sets as files: export the built-in ones, wrap your own arrays, look at images')
  );
}

export const wrapCommand: CliCommandContribution = {
  name: 'data wrap',
  register(program: Command): void {
    dataCommandGroup(program)
      .command('wrap')
      .description('write .npy arrays you already have (+ captions) as one split of a precomp folder, for the precomp data set')
      .requiredOption('--out <dir>', 'precomp folder (created if missing; other splits in it are kept)')
      .requiredOption('--split <name>', 'name of the split to write (test, gallery, …)')
      .requiredOption('--features <file.npy>', 'region features [N, R, F], or one vector per image [N, F]')
      .option('--captions <file.txt>', 'five captions per image, one a line, in image order (omit for an images-only split)')
      .option('--segmentations <file.npy>', 'class-score grid [N, C, g, g] (with --seg-maps and --categories)')
      .option('--seg-maps <file.npy>', 'label map [N, m, m] of class ids')
      .option('--categories <file.npy>', 'category multi-hot [N, C]')
      .action((flags: WrapFlags, command: Command) => {
        const wrapped = wrapArrays(flags.out, flags.split, flags);
        const print = command.configureOutput().writeOut ?? ((text: string) => process.stdout.write(text));
        const sizes = `${wrapped.numImages} images, ${wrapped.regions} regions of ${wrapped.featureDim} features${wrapped.numClasses ? `, ${wrapped.numClasses} classes` : ', no segmentation'}`;
        print(`${flags.split}: ${sizes}${wrapped.captions ? ', 5 captions each' : ', images only'} → ${flags.out}\n`);
        print(`read it with the data node ${wrapped.dataNode}\n`);
      });
  },
};

export const precompCommands: CliCommandContribution[] = [wrapCommand];
