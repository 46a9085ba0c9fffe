/**
 * Five captions per image, each stating at least one spatial relation that is true in the image.
 *
 * A caption fills one of {@link CAPTION_TEMPLATES}: `{A}`, `{B}`, `{C}` are objects named with an indefinite article,
 * an optional size word, their colour and shape ("a small red circle"); `{r1}` is the relation of A to B and `{r2}`
 * that of C to B; `{b}` names B again definitely ("the blue square"). Relations are stated along the axis of the larger
 * centre offset and only beyond the margin (see `scene.ts`). In an image of a hard-negative pair, the A–B relation is
 * always one that is false in the partner image, so every caption tells the pair apart.
 */
import type { KeyedRandom } from './random';
import { type Relation, type Scene, type SceneObject, contrastPairs, relationOf } from './scene';
import { SHAPES, type SizeName } from './vocabulary';

export const CAPTIONS_PER_IMAGE = 5;

/** Two-object templates (the first four) and three-object templates (the last two). */
export const CAPTION_TEMPLATES = [
  '{A} {r1} {B}',
  'there is {A} {r1} {B}',
  '{A} is {r1} {B}',
  'a picture of {A} {r1} {B}',
  '{A} {r1} {B} and {C} {r2} {b}',
  'there is {A} {r1} {B} and {C} is {r2} {b}',
] as const;
const TWO_OBJECT = CAPTION_TEMPLATES.slice(0, 4);
const THREE_OBJECT = CAPTION_TEMPLATES.slice(4);

/** Phrases for each relation ("a is <phrase> b"). */
export const RELATION_PHRASES: Readonly<Record<Relation, readonly string[]>> = {
  left: ['left of', 'to the left of', 'on the left of'],
  right: ['right of', 'to the right of', 'on the right of'],
  above: ['above', 'over'],
  below: ['below', 'under', 'beneath'],
};

/** Words for each size. */
export const SIZE_WORDS: Readonly<Record<SizeName, readonly string[]>> = {
  small: ['small', 'little'],
  large: ['large', 'big'],
};

/** Probability that an object's name includes a size word; that a 3-object template is used when possible. */
const SIZE_WORD_RATE = 0.5;
const THREE_OBJECT_RATE = 0.35;

/**
 * The five captions of `scene`. `partner` is the other image of its hard-negative pair (or null); `rng` is the
 * image's caption stream. Captions of one image are distinct when the scene allows it.
 */
export function captionScene(scene: Scene, partner: Scene | null, imageSize: number, rng: KeyedRandom): string[] {
  const objects = scene.objects;
  const related = orderedPairs(objects.length).filter(([a, b]) => relationOf(objects[a], objects[b], imageSize));
  const primary = partner ? contrastPairs(objects, partner.objects, imageSize) : related;
  const captions: string[] = [];
  for (let tries = 0; captions.length < CAPTIONS_PER_IMAGE; tries++) {
    const caption = oneCaption(objects, primary, related, imageSize, rng);
    if (tries >= 20 || !captions.includes(caption)) captions.push(caption);
  }
  return captions;
}

function oneCaption(
  objects: readonly SceneObject[],
  primary: readonly [number, number][],
  related: readonly [number, number][],
  imageSize: number,
  rng: KeyedRandom,
): string {
  const [a, b] = rng.pick(primary);
  const third = related.filter(([c, d]) => d === b && c !== a);
  const useThree = third.length > 0 && rng.chance(THREE_OBJECT_RATE);
  const template = useThree ? rng.pick(THREE_OBJECT) : rng.pick(TWO_OBJECT);
  const c = useThree ? rng.pick(third)[0] : -1;
  const phrase = (x: number, y: number) => rng.pick(RELATION_PHRASES[relationOf(objects[x], objects[y], imageSize)!]);
  const slots: Record<string, () => string> = {
    A: () => indefinite(objects[a], rng),
    B: () => indefinite(objects[b], rng),
    C: () => indefinite(objects[c], rng),
    r1: () => phrase(a, b),
    r2: () => phrase(c, b),
    b: () => `the ${objects[b].colour} ${objects[b].shape}`,
  };
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => slots[slot]());
}

/**
 * How many objects `caption` names: its indefinite mentions ("a small red circle"); the definite "the blue square"
 * of a three-object template refers back to one of them.
 */
export function countNamedObjects(caption: string): number {
  const words = caption.split(' ');
  let count = 0;
  words.forEach((word, i) => {
    if (!(SHAPES as readonly string[]).includes(word)) return;
    const sized = (SIZE_WORD_LIST as readonly string[]).includes(words[i - 2]);
    if (['a', 'an'].includes(words[i - (sized ? 3 : 2)])) count++;
  });
  return count;
}

const SIZE_WORD_LIST = [...SIZE_WORDS.small, ...SIZE_WORDS.large];

/** "a small red circle", "a blue square". */
function indefinite(object: SceneObject, rng: KeyedRandom): string {
  const words: string[] = [object.colour, object.shape];
  if (rng.chance(SIZE_WORD_RATE)) words.unshift(rng.pick(SIZE_WORDS[object.size]));
  return `${/^[aeiou]/.test(words[0]) ? 'an' : 'a'} ${words.join(' ')}`;
}

function orderedPairs(n: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b) pairs.push([a, b]);
  return pairs;
}
