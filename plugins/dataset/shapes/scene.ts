/**
 * Scene sampling: which objects an image holds and where, and which images form hard-negative pairs.
 *
 * Images are taken in slots of two (2g, 2g+1). With probability `hardNegativeFraction` a slot is a hard-negative
 * pair: both images hold the same objects (shape, colour, size) and the second permutes the first's object
 * positions, so a caption that only lists objects fits both while its spatial relations fit one. Otherwise the two
 * images are independent. Every random choice is keyed by (split key, slot or image index, purpose), so image i
 * depends neither on the order of generation nor on the split size (the partner of the last image of an odd-sized
 * split lies just past its end; it is still generated to choose that image's captions).
 */
import { KeyedRandom } from './random';
import { COLOUR_NAMES, type ColourName, SHAPES, SIZES, SIZE_RADIUS, type ShapeName, type SizeName } from './vocabulary';

/** What scene sampling needs from the data set options. */
export interface SceneConfig {
  readonly imageSize: number;
  readonly minObjects: number;
  readonly maxObjects: number;
  readonly hardNegativeFraction: number;
}

/** One object; (cx, cy) is its centre and `radius` its half-extent, both in pixels. */
export interface SceneObject {
  readonly shape: ShapeName;
  readonly colour: ColourName;
  readonly size: SizeName;
  readonly cx: number;
  readonly cy: number;
  readonly radius: number;
}

/** One image's scene. Objects have distinct (shape, colour), so "the red circle" names exactly one object. */
export interface Scene {
  readonly index: number;
  readonly objects: readonly SceneObject[];
  /** The other image of its hard-negative pair (same objects, other layout), or null. May equal the split size. */
  readonly partner: number | null;
}

/** A spatial relation "a is <relation> b", in image coordinates (y grows downwards). */
export type Relation = 'left' | 'right' | 'above' | 'below';

/** Centre offset (pixels) below which no relation is stated: 1/8 of the image side. */
export function relationMargin(imageSize: number): number {
  return imageSize / 8;
}

/** True when "a is `relation` b" holds by object centres with the margin of {@link relationMargin}. */
export function relationHolds(relation: Relation, a: SceneObject, b: SceneObject, imageSize: number): boolean {
  const m = relationMargin(imageSize);
  switch (relation) {
    case 'left':
      return a.cx < b.cx - m;
    case 'right':
      return a.cx > b.cx + m;
    case 'above':
      return a.cy < b.cy - m;
    case 'below':
      return a.cy > b.cy + m;
  }
}

/**
 * The relation of a to b along the axis of their larger centre offset, or null when that offset is within the
 * margin. Captions state only these, so a stated relation is the obvious description, not a technicality.
 */
export function relationOf(a: SceneObject, b: SceneObject, imageSize: number): Relation | null {
  const dx = a.cx - b.cx;
  const dy = a.cy - b.cy;
  const m = relationMargin(imageSize);
  if (Math.abs(dx) >= Math.abs(dy)) return Math.abs(dx) <= m ? null : dx < 0 ? 'left' : 'right';
  return Math.abs(dy) <= m ? null : dy < 0 ? 'above' : 'below';
}

/** The scene of image `index` of the split keyed by `splitKey`. */
export function sceneAt(splitKey: number, index: number, config: SceneConfig): Scene {
  const slot = Math.floor(index / 2);
  const hard = new KeyedRandom(splitKey, slot, 'pair').chance(config.hardNegativeFraction);
  if (!hard) {
    return { index, objects: sampleObjects(new KeyedRandom(splitKey, index, 'scene'), config, false), partner: null };
  }
  const base = sampleObjects(new KeyedRandom(splitKey, slot, 'group'), config, true);
  const objects = index % 2 === 0 ? base : rearrange(base, new KeyedRandom(splitKey, slot, 'layout'), config.imageSize);
  return { index, objects, partner: index ^ 1 };
}

/**
 * Samples 2–4 objects with distinct (shape, colour). Every object is placed as if it were large, so any permutation
 * of the centres is again a valid, non-overlapping layout (that is what hard-negative pairs permute). With `varied`,
 * the objects must not all share one (shape, size), or no permutation could change the label map.
 */
function sampleObjects(rng: KeyedRandom, config: SceneConfig, varied: boolean): SceneObject[] {
  const size = config.imageSize;
  const combos = SHAPES.flatMap((shape) => COLOUR_NAMES.map((colour) => ({ shape, colour })));
  for (;;) {
    const count = config.minObjects + rng.int(config.maxObjects - config.minObjects + 1);
    const kinds = rng.shuffled(combos).slice(0, count);
    const sizes = kinds.map(() => rng.pick(SIZES));
    const looks = new Set(kinds.map((k, i) => `${k.shape}/${sizes[i]}`));
    if (varied && looks.size < 2) continue;
    const centres = placeCentres(rng, count, size);
    return kinds.map((k, i) => ({ ...k, size: sizes[i], ...centres[i], radius: SIZE_RADIUS[sizes[i]] * size }));
  }
}

/**
 * Centres at least two large radii plus a gap apart and a large radius from the border. With this spacing every pair
 * is more than (2·r_large + gap)/√2 ≈ 0.27·side apart along one axis, so every pair has a stated relation.
 */
function placeCentres(rng: KeyedRandom, count: number, size: number): { cx: number; cy: number }[] {
  const reach = SIZE_RADIUS.large * size + 1;
  const minDistance = 2 * SIZE_RADIUS.large * size + 0.04 * size;
  for (;;) {
    const centres: { cx: number; cy: number }[] = [];
    for (let tries = 0; centres.length < count && tries < 100; tries++) {
      const c = { cx: rng.uniform(reach, size - reach), cy: rng.uniform(reach, size - reach) };
      if (centres.every((o) => Math.hypot(o.cx - c.cx, o.cy - c.cy) >= minDistance)) centres.push(c);
    }
    if (centres.length === count) return centres;
  }
}

/**
 * The partner layout: object i moves to the centre of object σ(i) for a derangement σ that changes the label map
 * (some position gets an object of another shape or size) and falsifies at least one stated relation of each image
 * in the other. Falls back to swapping
 * two objects of different (shape, size), which always does both.
 */
function rearrange(base: readonly SceneObject[], rng: KeyedRandom, imageSize: number): SceneObject[] {
  const look = (o: SceneObject) => `${o.shape}/${o.size}`;
  const moved = (sigma: readonly number[]) => base.map((o, i) => ({ ...o, cx: base[sigma[i]].cx, cy: base[sigma[i]].cy }));
  const ids = base.map((_, i) => i);
  for (let tries = 0; tries < 20; tries++) {
    const sigma = rng.shuffled(ids);
    if (sigma.some((s, i) => s === i)) continue;
    if (!sigma.some((s, i) => look(base[s]) !== look(base[i]))) continue;
    const objects = moved(sigma);
    const telling = contrastPairs(base, objects, imageSize).length > 0;
    if (telling && contrastPairs(objects, base, imageSize).length > 0) return objects;
  }
  const i = 0;
  const j = base.findIndex((o) => look(o) !== look(base[0]));
  return moved(ids.map((k) => (k === i ? j : k === j ? i : k)));
}

/**
 * Ordered object pairs (a, b) whose stated relation in `first` is false in `second` (another layout of the same
 * objects): a caption about such a pair tells the two images apart.
 */
export function contrastPairs(first: readonly SceneObject[], second: readonly SceneObject[], imageSize: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let a = 0; a < first.length; a++) {
    for (let b = 0; b < first.length; b++) {
      if (a === b) continue;
      const before = relationOf(first[a], first[b], imageSize);
      if (before !== null && !relationHolds(before, second[a], second[b], imageSize)) pairs.push([a, b]);
    }
  }
  return pairs;
}
