/**
 * DI tokens. Plugins receive these through explicit `@inject(TOKEN)` constructor parameters
 * (never through emitted decorator metadata, never through base-class injection).
 *
 * Two groups:
 * - node tokens, bound by the builder for the one recipe node being constructed;
 * - service tokens, bound once per run in the run's child container.
 */

/** The node's validated `args` (defaults filled in). Type: `Static<typeof options>` of the plugin. */
export const PLUGIN_ARGS = Symbol.for('shnet.node.args');
/** The node's built child nodes, keyed by slot name (`{ aggregator: Aggregator, 'highlight.spatial': … }`); absent slots are `null`. */
export const PLUGIN_PARTS = Symbol.for('shnet.node.parts');
/** The node's key path in the recipe (`model.image.highlight.spatial`), for error messages and parameter names. */
export const NODE_PATH = Symbol.for('shnet.node.path');

/** {@link Rng}: the run's seeded random stream (state saved in checkpoints). */
export const RNG = Symbol.for('shnet.service.rng');
/** {@link Logger}: leveled logging to stderr. */
export const LOGGER = Symbol.for('shnet.service.logger');
/** {@link BackendInfo}: which TensorFlow.js backend runs, and with how many threads. */
export const BACKEND = Symbol.for('shnet.service.backend');
/** {@link RunContext}: run directory, resolved recipe, its hash and seed. */
export const RUN_CONTEXT = Symbol.for('shnet.service.run-context');
/** {@link DataInfo}: facts about the data set the model must agree with (class count, feature width, map size). */
export const DATA_INFO = Symbol.for('shnet.service.data-info');
