/**
 * What a `shapes` scene is made of — shape kinds, colours, sizes — and the segmentation class set.
 *
 * Class set: class 0 is the background ("stuff"), and each shape kind is one "thing" class, so C = 1 + 6 = 7.
 * Colour and size are attributes, not categories, mirroring COCO panoptic where a red car and a blue car are both
 * `car`: the segmenter says *what kind* of object is *where*, while appearance (colour) has to come from the region
 * features, as BUTD's attribute-trained features supply it on COCO. Class = shape × colour would instead make the
 * segmentation an oracle for everything a caption says, and the comparison with a baseline would test nothing.
 */

/** Shape kinds, in class order (class id = index + 1). */
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'cross', 'ring'] as const;
export type ShapeName = (typeof SHAPES)[number];

/** Object colours with their base RGB (0-255); each object jitters its colour slightly. */
export const COLOURS = {
  red: [220, 50, 47],
  green: [60, 180, 75],
  blue: [55, 105, 230],
  yellow: [240, 215, 45],
  purple: [155, 70, 205],
  white: [235, 235, 235],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];

export const SIZES = ['small', 'large'] as const;
export type SizeName = (typeof SIZES)[number];

/** Half-extent of an object as a fraction of the image side, per size. */
export const SIZE_RADIUS: Readonly<Record<SizeName, number>> = { small: 0.1, large: 0.17 };

/** Background class id ("stuff"). */
export const BACKGROUND_CLASS = 0;

/** Class names by id: `background`, then the shapes. */
export const CLASS_NAMES: readonly string[] = ['background', ...SHAPES];

/** Number of segmentation classes C. */
export const NUM_CLASSES = CLASS_NAMES.length;

/** Class id of a shape kind. */
export function classOf(shape: ShapeName): number {
  return SHAPES.indexOf(shape) + 1;
}
