/**
 * The evaluation protocols of docs/evaluation.md: which images form each fold. Every fold is evaluated on its own
 * `[n, 5n]` block of the similarity matrix (its images and their captions), and each metric is averaged over folds.
 */
import { type TiePolicy, UsageError } from 'shnet';
import type { ChanceMetrics, RetrievalMetrics } from './metrics';

/** A protocol: the number of equal folds, and the image count it is defined for (any, when absent). */
export interface ProtocolSpec {
  folds: number;
  images?: number;
}

export const RETRIEVAL_PROTOCOLS = {
  /** COCO `testall`, 5 folds of 1,000 images and their 5,000 captions, metrics averaged over folds. */
  'coco-5fold-1k': { folds: 5, images: 5000 },
  /** COCO `testall` as one block: 5,000 images against 25,000 captions. */
  'coco-5k': { folds: 1 },
  /** Flickr30K `test` (1,000 images) as one block; also the cross-dataset protocol. */
  'f30k-1k': { folds: 1 },
} as const satisfies Record<string, ProtocolSpec>;

export type RetrievalProtocolName = keyof typeof RETRIEVAL_PROTOCOLS;

/** Images `firstImage .. firstImage+images-1` and their captions `5·firstImage .. 5·(firstImage+images)-1`. */
export interface Fold {
  firstImage: number;
  images: number;
}

/** Result of a protocol: per-metric means over folds, and each fold's own report (one fold: the same numbers). */
export interface ProtocolReport {
  protocol: string;
  /** The tie policy the ranks were counted with. */
  ties: TiePolicy;
  metrics: RetrievalMetrics;
  folds: RetrievalMetrics[];
  /** The recalls and rSum random rankings would get on one block (fold) of this protocol. */
  chance: ChanceMetrics;
}

/**
 * The folds of `protocol` over `images` images. A protocol that does not exist or cannot split them is the user's
 * choice to fix (a `--protocol`, a split of another size), so it is a {@link UsageError}: one line, exit 2.
 */
export function protocolFolds(protocol: RetrievalProtocolName | ProtocolSpec, images: number): Fold[] {
  const spec: ProtocolSpec = typeof protocol === 'string' ? RETRIEVAL_PROTOCOLS[protocol] : protocol;
  const name = protocolName(protocol);
  if (spec === undefined) {
    throw new UsageError(`unknown retrieval protocol '${name}' (known: ${Object.keys(RETRIEVAL_PROTOCOLS).join(', ')})`);
  }
  if (spec.images !== undefined && images !== spec.images) {
    throw new UsageError(
      `protocol ${name} is defined for ${spec.images} images (${spec.folds} folds of ${spec.images / spec.folds}), and the split has ${images}`,
    );
  }
  if (!Number.isInteger(spec.folds) || spec.folds <= 0 || images % spec.folds !== 0 || images === 0) {
    throw new UsageError(`protocol ${name} cannot split ${images} images into ${spec.folds} equal folds`);
  }
  const size = images / spec.folds;
  return Array.from({ length: spec.folds }, (_, f) => ({ firstImage: f * size, images: size }));
}

/** How a protocol is named in reports: its registered name, or `<k>-fold` for an ad-hoc spec. */
export function protocolName(protocol: RetrievalProtocolName | ProtocolSpec): string {
  return typeof protocol === 'string' ? protocol : `${protocol.folds}-fold`;
}
