/**
 * Small models assembled from the built-in plugins through DI, and inputs for them, shared by the plugin tests.
 */
import { tf } from '../../core/backend/tf';
import type { ImageInputs } from '../../core/contracts/image';
import type { DataInfo } from '../../core/contracts/services';
import { gpoAggregatorSpec } from '../../plugins/aggregator/gpo';
import { precomputedBackboneSpec } from '../../plugins/backbone/precomputed';
import { semanticHighlightSpec } from '../../plugins/highlight/semantic';
import { spatialHighlightSpec } from '../../plugins/highlight/spatial';
import { shnetImageEncoderSpec, type ShnetImageEncoder } from '../../plugins/image-encoder/3shnet';
import { precomputedSegmenterSpec } from '../../plugins/segmenter/precomputed';
import { bigruTextEncoderSpec, type BigruTextEncoder } from '../../plugins/text-encoder/bigru';
import { buildPlugin, TINY_INFO } from './plugin-harness';
import { seededValues } from './tensors';

/** Which optional parts of the image encoder are on (the ablation ladder). */
export interface Ladder {
  readonly segmenter?: boolean;
  readonly semantic?: boolean;
  readonly spatial?: boolean;
  readonly categoryToken?: boolean;
  readonly segmentGridTokens?: boolean;
}

export const FULL: Ladder = { segmenter: true, semantic: true, spatial: true, categoryToken: true, segmentGridTokens: true };
export const VSE_INFINITY: Ladder = { categoryToken: false, segmentGridTokens: false };

/** Builds the encoder and its slots through DI, as a recipe would. */
export function buildImageEncoder(ladder: Ladder, info: DataInfo = TINY_INFO, embedDim = 8, seed = 1): ShnetImageEncoder {
  const path = 'model.image';
  const highlightArgs = { embedDim, ...(embedDim < 128 ? { keyDim: 4 } : {}) };
  const parts = {
    backbone: buildPlugin(precomputedBackboneSpec, { info, seed, path: `${path}.backbone` }),
    segmenter: ladder.segmenter ? buildPlugin(precomputedSegmenterSpec, { info, seed, path: `${path}.segmenter` }) : null,
    'highlight.semantic': ladder.semantic ? buildPlugin(semanticHighlightSpec, { info, seed, args: { embedDim }, path: `${path}.highlight.semantic` }) : null,
    'highlight.spatial': ladder.spatial ? buildPlugin(spatialHighlightSpec, { info, seed, args: highlightArgs, path: `${path}.highlight.spatial` }) : null,
    aggregator: buildPlugin(gpoAggregatorSpec, { info, seed, path: `${path}.aggregator` }),
  };
  return buildPlugin<ShnetImageEncoder>(shnetImageEncoderSpec, {
    info,
    seed,
    path,
    parts,
    args: { embedDim, categoryToken: ladder.categoryToken ?? true, segmentGridTokens: ladder.segmentGridTokens ?? true },
  });
}

/** A tiny batch (TINY_INFO shapes): B images, R = 4 regions, the given valid lengths. */
export function tinyImages(lengths: number[], seed = 1, info: DataInfo = TINY_INFO): ImageInputs {
  const b = lengths.length;
  const r = info.regionsPerImage ?? 4;
  const f = info.featureDim ?? 12;
  const { numClasses: c, gridSize: g, mapSize: m } = info;
  const regions = seededValues(b * r * f, seed);
  lengths.forEach((n, i) => regions.fill(0, (i * r + n) * f, (i + 1) * r * f)); // zero-padded, as the data sets give them
  return {
    batchSize: b,
    regions: tf.tensor3d(regions, [b, r, f]),
    regionLengths: Int32Array.from(lengths),
    segmentation: {
      classGrid: tf.tensor4d(seededValues(b * c * g * g, seed + 1), [b, c, g, g]),
      labelMap: tf.tensor3d(
        Float32Array.from(seededValues(b * m * m, seed + 2), (x) => Math.floor((x + 1) * (c / 2))),
        [b, m, m],
      ),
      categories: tf.tensor2d(
        Float32Array.from(seededValues(b * c, seed + 3), (x) => (x > 0 ? 1 : 0)),
        [b, c],
      ),
    },
  };
}

/** A tiny BiGRU text encoder (D = 6, word width 5, every word kept) with its own GPO. */
export function buildTextEncoder(args: Record<string, unknown> = {}, seed = 1): BigruTextEncoder {
  const aggregator = buildPlugin(gpoAggregatorSpec, { seed, path: 'model.text.aggregator' });
  return buildPlugin<BigruTextEncoder>(bigruTextEncoderSpec, {
    seed,
    path: 'model.text',
    parts: { aggregator },
    args: { embedDim: 6, wordDim: 5, minCount: 1, ...args },
  });
}
