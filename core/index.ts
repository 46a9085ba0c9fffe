/**
 * shnet's public API: everything a plugin needs, built-in or external. The built-in plugins under `plugins/` import
 * only from here (`import … from 'shnet'`, checked by test/core/layering.test.ts), so an external plugin package can
 * do whatever a built-in does. It includes the libraries a plugin must share with the host: the same tfjs instance,
 * inversify's decorators and TypeBox for options schemas.
 */
import 'reflect-metadata';

// Contracts: one interface per plugin kind, and the services DI hands to plugins.
export * from './contracts/cli-command';
export * from './contracts/data';
export * from './contracts/dataset';
export * from './contracts/evaluation';
export * from './contracts/executor';
export * from './contracts/image';
export * from './contracts/module';
export * from './contracts/services';
export * from './contracts/text';
export * from './contracts/tracker';
export * from './contracts/training';
export * from './errors';
export * from './kinds';
export * from './tokens';
export { shnetVersion } from './version';

// Registration: plugin specs, manifests, the registry, and options checked outside a recipe.
export * from './registry/plugin-spec';
export { PluginRegistry, createOptionsAjv, type RegisteredPlugin } from './registry/registry';
export { builtinManifest, createRegistry } from './registry/builtin';
export { checkOptions } from './registry/check-options';
export * from './registry/node-check';

// Secrets in recipes: what is redacted from every record (params, tags, artifacts), and how a value is marked.
export { REDACTED, SECRET_TAG, isCredentialKey, redactText, rememberedSecrets } from './recipe/secrets';

// Tensors and layers: the one tfjs instance, PyTorch-equivalent layers, and the differentiable sort GPO uses.
export { tf } from './backend/tf';
export * from './nn';
export { sortDescending } from './backend/differentiable-sort';

// Files: streaming .npy, safetensors, atomic writes, shnet checkpoints and the run-folder layout.
export * from './io/npy/npy';
export { FLOAT_DTYPES, SafetensorsFile, readSafetensors, withSafetensors, type SafetensorsContent, type SafetensorsEntry } from './io/safetensors';
export { writeSafetensors, type HostTensor } from './io/safetensors-writer';
export { AtomicFile, writeFileAtomic, type AtomicWriteHooks } from './atomic-write';
export { loadCheckpoint, readCheckpointState, type CheckpointState } from './train/checkpoint';
export { RunFolder } from './run-folder';
export { encodePng, decodePng, type RgbImage } from './io/png';

// Sweep executors: how a trial runs as a `shnet run` process, and how parallel trials share the cores.
export { runTrialProcess } from './sweep/trial-process';
export { wasmThreadsShare } from './backend/select';

// Testing plugins: the conformance suite (`shnet test-plugin`), also as mocha tests.
export { runConformance, plannedChecks, formatReports, type ConformanceReport, type ConformanceCheck, type ConformanceOptions } from './conformance';
export { describeConformance } from './conformance/mocha';

export { inject, injectable, optional, ContainerModule } from 'inversify';
export { Type, type Static, type TSchema } from '@sinclair/typebox';
export { shellWord } from './shell-word';
