import type { CaptionFacet } from '../../contracts/dataset';

/**
 * Words and phrases that state where one thing is relative to another. A caption containing one states a spatial
 * relation — what 3SHNet's spatial highlighting is meant to help with — for English captions of any data set.
 */
export const SPATIAL_PHRASES = [
  'left',
  'right',
  'above',
  'below',
  'under',
  'underneath',
  'over',
  'beneath',
  'behind',
  'beside',
  'next to',
  'in front of',
  'on top of',
  'near',
  'between',
  'inside',
  'atop',
] as const;

const SPATIAL = new RegExp(`\\b(${SPATIAL_PHRASES.map((p) => p.replace(/ /g, '\\s+')).join('|')})\\b`, 'i');

/** Whether `caption` states a spatial relation (one of {@link SPATIAL_PHRASES}). */
export function statesSpatialRelation(caption: string): boolean {
  return SPATIAL.test(caption);
}

/** The facet every report has: captions with and without a spatial relation, read from their words. */
export function spatialFacet(captions: readonly string[]): CaptionFacet {
  return { name: 'states a spatial relation', labels: captions.map((c) => (statesSpatialRelation(c) ? 'yes' : 'no')) };
}
