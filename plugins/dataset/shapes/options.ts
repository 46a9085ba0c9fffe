/** Options of the `shapes` data set (recipe `args`, and the flags of `shnet data export`). */
import { checkOptions, type Static, Type, UsageError } from 'shnet';

export const shapesOptions = Type.Object(
  {
    seed: Type.Integer({
      default: 1,
      minimum: 0,
      maximum: 4294967295,
      description: 'Data set seed; each split derives its own stream from it, so a seed names one fixed data set.',
    }),
    trainSize: Type.Integer({ default: 4000, minimum: 1, description: 'Images in the train split.' }),
    devSize: Type.Integer({ default: 1000, minimum: 1, description: 'Images in the dev split.' }),
    testSize: Type.Integer({ default: 1000, minimum: 1, description: 'Images in the test split.' }),
    imageSize: Type.Integer({ default: 64, minimum: 16, maximum: 256, description: 'Side of the RGB images.' }),
    minObjects: Type.Integer({ default: 2, minimum: 2, maximum: 4, description: 'Fewest objects per image.' }),
    maxObjects: Type.Integer({ default: 4, minimum: 2, maximum: 4, description: 'Most objects per image.' }),
    regionsPerImage: Type.Integer({
      default: 6,
      minimum: 4,
      maximum: 64,
      description: 'Regions R per image: the objects, then random background boxes; all valid, as with BUTD.',
    }),
    featureDim: Type.Integer({
      default: 64,
      minimum: 53,
      maximum: 4096,
      description: 'Width F of the region descriptors (53 hand-crafted values, zero-padded to F).',
    }),
    hardNegativeFraction: Type.Number({
      default: 0.5,
      minimum: 0,
      maximum: 1,
      description: 'Expected fraction of images in hard-negative pairs (same objects, permuted layout).',
    }),
    noise: Type.Number({
      default: 0.04,
      minimum: 0,
      maximum: 0.25,
      description: 'Amplitude of uniform per-pixel noise, as a fraction of full intensity.',
    }),
    regionPosition: Type.Boolean({
      default: false,
      description: 'Append each box centre to its descriptor (BUTD features carry no box position; off by default).',
    }),
  },
  { additionalProperties: false },
);

export type ShapesOptions = Static<typeof shapesOptions>;

/** Checks what the schema cannot say: the object-count range, and that R can hold every object. */
export function checkShapesOptions(options: ShapesOptions, where = 'shapes'): void {
  if (options.minObjects > options.maxObjects) {
    throw new UsageError(`${where}: minObjects (${options.minObjects}) exceeds maxObjects (${options.maxObjects})`);
  }
  if (options.regionsPerImage < options.maxObjects) {
    throw new UsageError(`${where}: regionsPerImage (${options.regionsPerImage}) must be at least maxObjects (${options.maxObjects})`);
  }
}

/** Validates raw options (`args` of a recipe node, or CLI flags) and fills the defaults. */
export function resolveShapesOptions(raw: Readonly<Record<string, unknown>> = {}, where = 'shapes'): ShapesOptions {
  const resolved = checkOptions(shapesOptions, raw, where);
  checkShapesOptions(resolved, where);
  return resolved;
}
