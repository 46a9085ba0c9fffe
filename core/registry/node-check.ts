import type { DataInfo } from '../contracts/services';

/**
 * Checks across recipe nodes, run by validation after every node passed its own options schema: a schema sees one
 * node's args, but a highlight's width must equal its encoder's, and a batch cannot be larger than its split. A
 * plugin states such rules once, in its spec (`check`), and a data set says what it holds before anything is
 * built (`dataFacts`), so every rule is checked before a single weight is allocated.
 */

/** A validated node as a check sees it: its type, its args with defaults filled in, and its child slots. */
export interface CheckedNode {
  readonly type: string;
  readonly args: Readonly<Record<string, unknown>>;
  /** Child nodes by slot path (`aggregator`, `highlight.semantic`); null for a slot switched off. */
  readonly slots: Readonly<Record<string, CheckedNode | null>>;
}

/** What a data set holds, known without building it: from its args, or from file headers. */
export interface DataFacts {
  /** The facts a model must agree with; `imageSize` set when batches carry pixels, `featureDim` when regions. */
  readonly info: DataInfo;
  /** Whether batches carry segmentation inputs (class grid, label map, categories). */
  readonly segmentation: boolean;
  /** Images of each split, by split name (every image has five captions). */
  readonly splits: Readonly<Record<string, { readonly images: number }>>;
}

/** What a {@link NodeCheck} is given. */
export interface NodeCheckContext {
  readonly node: CheckedNode;
  /** The node's key path (`model.image`); problems are reported under it. */
  readonly path: string;
  /** The whole resolved recipe, settings (`train.batchSize`) included. */
  readonly recipe: Readonly<Record<string, unknown>>;
  /** The data set's facts, when its plugin can tell them before it is built (absent otherwise). */
  readonly data?: DataFacts;
}

/** One inconsistency: the full key path of the value to change, and why. */
export interface CheckProblem {
  readonly path: string;
  readonly message: string;
}

/** A plugin's cross-node rules: returns every inconsistency found (none: an empty list). */
export type NodeCheck = (context: NodeCheckContext) => CheckProblem[];

/**
 * How a data set plugin tells its {@link DataFacts} from its validated args. Returns undefined when they cannot be
 * known yet (the files are not on this machine: validating a recipe must not need its data); throws a `UsageError`
 * naming the file when data that is there cannot be used.
 */
export type DataFactsReader = (args: Readonly<Record<string, unknown>>) => DataFacts | undefined;
