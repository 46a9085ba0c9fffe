import type { ImageEncoder } from '../contracts/image';
import type { NamedParameter } from '../contracts/module';
import type { TextEncoder } from '../contracts/text';
import type { Loss } from '../contracts/training';

/** The blocks that own weights in a run. */
export interface TrainableBlocks {
  readonly imageEncoder: ImageEncoder;
  readonly textEncoder: TextEncoder;
  readonly loss: Loss;
}

/**
 * Every weight of the run, named by block (`image.fc.weight`, `text.rnn.…`, `loss.…`): the names of checkpoint
 * tensors and of optimizer slots. Called again after `textEncoder.prepare`, which may add the word embedding.
 */
export function runParameters(blocks: TrainableBlocks): NamedParameter[] {
  const prefixed = (prefix: string, params: readonly NamedParameter[]) => params.map((p) => ({ ...p, name: `${prefix}.${p.name}` }));
  const all = [
    ...prefixed('image', blocks.imageEncoder.parameters()),
    ...prefixed('text', blocks.textEncoder.parameters()),
    ...prefixed('loss', blocks.loss.parameters?.() ?? []),
  ];
  const seen = new Set<string>();
  for (const p of all) {
    if (seen.has(p.name)) throw new Error(`two weights are both named '${p.name}'; parameter names must be unique within a block`);
    seen.add(p.name);
  }
  return all;
}

/** Optimizer groups present among the trainable weights (`default` for weights without a group). */
export function parameterGroups(params: readonly NamedParameter[]): string[] {
  return [...new Set(params.filter((p) => p.trainable).map((p) => p.group ?? 'default'))];
}
