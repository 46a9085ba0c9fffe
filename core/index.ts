/**
 * shnet's public API for plugin authors: contracts, DI tokens, the registration helpers, and the libraries a
 * plugin must share with the host (the same tfjs instance, inversify decorators, TypeBox for options schemas).
 * A plugin package imports everything from `'shnet'`.
 */
import 'reflect-metadata';

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
export * from './registry/plugin-spec';
export * from './tokens';
export { runConformance, plannedChecks, formatReports, type ConformanceReport, type ConformanceCheck, type ConformanceOptions } from './conformance';
export { describeConformance } from './conformance/mocha';
export { builtinManifest, createRegistry } from './run/prepare';
export type { PluginRegistry, RegisteredPlugin } from './registry/registry';
export { tf } from './backend/tf';
export { inject, injectable, ContainerModule } from 'inversify';
export { Type, type Static } from '@sinclair/typebox';
export { shnetVersion } from './version';
export { shellWord } from './cli/shell-word';
