import type { CaptionFacet } from '../../contracts/dataset';
import type { Rng } from '../../contracts/services';
import { createRng } from '../../services/rng';
import { spatialFacet } from './caption-types';
import { medianRank, recallAt, TOP, type RetrievalRanks } from './ranks';

/** Recall of the text → image direction for one group of captions. */
export interface GroupRecall {
  readonly label: string;
  readonly captions: number;
  readonly r1: number;
  readonly r5: number;
  readonly r10: number;
  readonly medr: number;
}

export interface FacetRecall {
  readonly name: string;
  readonly groups: readonly GroupRecall[];
}

/** A caption with the images it retrieved. */
export interface CaptionCase {
  readonly caption: number;
  readonly text: string;
  /** The image the caption was written for, and its 1-based rank. */
  readonly image: number;
  readonly rank: number;
  readonly top: readonly { readonly image: number; readonly score: number }[];
}

/** An image with the captions it retrieved. */
export interface ImageCase {
  readonly image: number;
  /** 1-based rank of its best-placed own caption. */
  readonly rank: number;
  readonly ownCaptions: readonly string[];
  readonly top: readonly { readonly caption: number; readonly text: string; readonly own: boolean; readonly score: number }[];
}

/** Everything `shnet report` shows, before any HTML. */
export interface ReportData {
  readonly split: string;
  readonly numImages: number;
  /** i2t/t2i R@1/5/10, medr and rsum under protocol `all` (every image of the split). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly facets: readonly FacetRecall[];
  readonly sampledCaptions: readonly CaptionCase[];
  readonly sampledImages: readonly ImageCase[];
  readonly worstCaptions: readonly CaptionCase[];
  readonly worstImages: readonly ImageCase[];
}

export interface ReportChoices {
  /** Captions and images sampled for the retrieval panels. */
  readonly samples: number;
  /** Worst failures shown each way. */
  readonly failures: number;
  /** Seed of the sample (the same seed shows the same captions and images). */
  readonly seed: number;
}

/** Puts the report together from the ranks of a split, its captions and its data set's caption facets. */
export function reportData(
  split: string,
  ranks: RetrievalRanks,
  captions: readonly string[],
  facets: readonly CaptionFacet[],
  choices: ReportChoices,
): ReportData {
  const n = ranks.numImages;
  const captionCase = (j: number): CaptionCase => ({
    caption: j,
    text: captions[j],
    image: Math.floor(j / 5),
    rank: ranks.captionRanks[j] + 1,
    top: topOf(ranks.captionTop, ranks.captionTopScores, j).map(([image, score]) => ({ image, score })),
  });
  const imageCase = (i: number): ImageCase => ({
    image: i,
    rank: ranks.imageRanks[i] + 1,
    ownCaptions: captions.slice(5 * i, 5 * i + 5),
    top: topOf(ranks.imageTop, ranks.imageTopScores, i).map(([caption, score]) => ({
      caption,
      text: captions[caption],
      own: Math.floor(caption / 5) === i,
      score,
    })),
  });
  const rng = createRng(choices.seed).fork('report');
  const sampled = (count: number, of: number) => sample(rng, Math.min(count, of), of);
  const worst = (values: Int32Array, count: number) =>
    Array.from(values.keys())
      .sort((a, b) => values[b] - values[a] || a - b)
      .slice(0, Math.min(count, values.length))
      .filter((i) => values[i] > 0);
  return {
    split,
    numImages: n,
    metrics: overall(ranks),
    facets: [spatialFacet(captions), ...facets].map((facet) => facetRecall(facet, ranks.captionRanks)),
    sampledCaptions: sampled(choices.samples, 5 * n).map(captionCase),
    sampledImages: sampled(choices.samples, n).map(imageCase),
    worstCaptions: worst(ranks.captionRanks, choices.failures).map(captionCase),
    worstImages: worst(ranks.imageRanks, choices.failures).map(imageCase),
  };
}

/** `count` distinct integers of [0, of), in drawing order (a partial Fisher–Yates shuffle). */
function sample(rng: Rng, count: number, of: number): number[] {
  const pool = Array.from({ length: of }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(of - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

function topOf(ids: Int32Array, scores: Float32Array, row: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = 0; t < TOP; t++) if (ids[row * TOP + t] >= 0) out.push([ids[row * TOP + t], scores[row * TOP + t]]);
  return out;
}

function overall(ranks: RetrievalRanks): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [direction, values] of [
    ['i2t', ranks.imageRanks],
    ['t2i', ranks.captionRanks],
  ] as const) {
    for (const k of [1, 5, 10]) metrics[`${direction}/R${k}`] = recallAt(values, k);
    metrics[`${direction}/medr`] = medianRank(values);
  }
  metrics.rsum = [1, 5, 10].reduce((sum, k) => sum + metrics[`i2t/R${k}`] + metrics[`t2i/R${k}`], 0);
  return metrics;
}

/** Text → image recall of every group of one facet, groups in natural label order. */
function facetRecall(facet: CaptionFacet, captionRanks: Int32Array): FacetRecall {
  const groups = new Map<string, number[]>();
  facet.labels.forEach((label, j) => {
    if (j >= captionRanks.length) return;
    const list = groups.get(label) ?? [];
    list.push(captionRanks[j]);
    groups.set(label, list);
  });
  const labels = [...groups.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return {
    name: facet.name,
    groups: labels.map((label) => {
      const values = groups.get(label)!;
      return { label, captions: values.length, r1: recallAt(values, 1), r5: recallAt(values, 5), r10: recallAt(values, 10), medr: medianRank(values) };
    }),
  };
}
