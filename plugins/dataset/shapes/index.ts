/**
 * `shapes`: the built-in synthetic data set (coloured shapes, relational captions, hard-negative layouts, exact
 * segmentation inputs), `shnet data export`, which writes it in the precomp layout, and `shnet data show`, which draws
 * one of its images.
 *
 * ```ts
 * const dataset = new ShapesDataset(resolveShapesOptions({ trainSize: 100 }));
 * const train = await dataset.open('train');
 * const batch = await train.loadImages([0, 1]); // regions [2, 6, 64], segmentation.classGrid [2, 7, 7, 7], ...
 * ```
 */
import type { CliCommandContribution } from 'shnet';
import { exportCommand, showCommand } from './command';

export { shapesDataset, ShapesDataset, shapesDataInfo } from './plugin';
export { shapesOptions, resolveShapesOptions, type ShapesOptions } from './options';
export { exportPrecomp, type ExportedSplit } from './export';
export { CLASS_NAMES, NUM_CLASSES } from './vocabulary';

/** CLI commands the `shapes` package contributes. */
export const shapesCommands: readonly CliCommandContribution[] = [exportCommand, showCommand];
