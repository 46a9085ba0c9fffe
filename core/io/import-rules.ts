/**
 * The rules of `shnet import` around a plan (checkpoint-import.ts): which blocks of the model take weights, how much
 * a checkpoint may inflate for them, and when an import is refused.
 */
import type { ParameterOwner } from '../contracts/module';
import { UsageError } from '../errors';
import { type ImportBlock, type ImportPlan, problemCount, unfilledCount } from './checkpoint-import';
import type { SourceEncoder } from './checkpoint-source';
import type { ZipLimits } from './torch';

/** The encoders `--only` may name. */
export const IMPORT_ENCODERS = ['image', 'text'] as const;
export type ImportEncoder = (typeof IMPORT_ENCODERS)[number];

/** How strictly an import is checked. */
export interface ImportStrictness {
  /** Import one encoder only; the other keeps its initial values and its keys in the checkpoint are set aside. */
  readonly only?: ImportEncoder;
  /** Missing or mis-shaped weights keep their initial values instead of refusing the import. */
  readonly allowMissing?: boolean;
  /** Keys of the checkpoint that fit nothing in the model are refused too. */
  readonly strict?: boolean;
}

/** The model's blocks as an import sees them: both encoders required unless `--only` leaves one out; the loss optional. */
export function importBlocks(image: ParameterOwner, text: ParameterOwner, loss: ParameterOwner, only?: ImportEncoder): ImportBlock[] {
  if (only !== undefined && !IMPORT_ENCODERS.includes(only)) {
    throw new UsageError(`--only must be one of ${IMPORT_ENCODERS.join(', ')}; got '${only}'`);
  }
  return [
    { name: 'image', reference: 'img_enc', owner: image, required: true, excluded: only === 'text' },
    { name: 'text', reference: 'txt_enc', owner: text, required: true, excluded: only === 'image' },
    { name: 'loss', owner: loss, required: false },
  ];
}

/** The encoders an unprefixed state dict may belong to, with their weight names. */
export function sourceEncoders(blocks: readonly ImportBlock[]): SourceEncoder[] {
  return blocks
    .filter((b) => b.reference !== undefined)
    .map((b) => ({ name: b.name, reference: b.reference!, weights: new Set(b.owner.parameters().map((p) => p.name)) }));
}

/**
 * The most any checkpoint entry may inflate to: every weight of the model in float64, the widest dtype a checkpoint
 * stores. A storage shared by several weights (a cuDNN GRU's flattened weights) fits; a deflated entry that declares
 * more cannot hold anything this model reads, and is refused before it is inflated.
 */
export function inflateLimits(blocks: readonly ImportBlock[]): ZipLimits {
  const elements = blocks.flatMap((b) => b.owner.parameters()).reduce((sum, p) => sum + p.variable.size, 0);
  return { maxInflatedBytes: 8 * elements };
}

/**
 * Refuses an import that would leave the model silently wrong: a weight missing from the checkpoint or there with
 * another shape (unless `--allow-missing`), or, with `--strict`, a checkpoint key that fits nothing.
 */
export function checkImport(plan: ImportPlan, report: readonly string[], strictness: ImportStrictness, recipe: string): void {
  const unfilled = unfilledCount(plan);
  if (strictness.strict && problemCount(plan) > 0) {
    throw new UsageError(`${report.join('\n')}\n--strict: ${problemCount(plan)} keys do not fit the model of ${recipe}; nothing written`);
  }
  if (unfilled > 0 && !strictness.allowMissing) {
    const hint = strictness.only === undefined ? ' (--only image|text imports one encoder)' : '';
    throw new UsageError(
      `${report.join('\n')}\n${unfilled} weights of the model of ${recipe} are missing from the checkpoint or mis-shaped; nothing written` +
        `\n(--allow-missing keeps their initial values${hint})`,
    );
  }
}
