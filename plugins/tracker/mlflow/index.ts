import { type CliCommandContribution, definePlugin, shnetVersion } from 'shnet';

import { compareCommand, syncCommand } from './commands';
import { MlflowTracker } from './mlflow-tracker';
import { mlflowTrackerOptions } from './options';

/**
 * The MLflow tracker package: runs logged to a local MLflow FileStore first, delivered to a tracking server when one is
 * configured; plus `shnet sync` and `shnet compare`. See docs/mlflow.md.
 */

export const mlflowTracker = definePlugin({
  kind: 'tracker',
  name: 'mlflow',
  doc: 'MLflow: local FileStore first, delivered exactly once to a tracking server when one is set',
  version: shnetVersion,
  options: mlflowTrackerOptions,
  plugin: MlflowTracker,
});

export const mlflowCommands: CliCommandContribution[] = [syncCommand, compareCommand];

export { MlflowTracker } from './mlflow-tracker';
export { mlflowTrackerOptions, type MlflowTrackerOptions, resolveSettings } from './options';
export { syncRuns } from './sync';
export { FileStore } from './file-store';
export { MlflowRestClient, MlflowApiError } from './rest-client';
export { sanitizeKey, paramValue } from './keys';
