import { type CliCommandContribution, definePlugin, shnetVersion } from 'shnet';

import { BullmqExecutor } from './executor';
import { bullmqExecutorOptions } from './options';
import { workerCommand } from './worker';

/** Sweep trials as jobs on a BullMQ queue in Redis, run by `shnet worker` processes on any machine. See docs/sweeps.md. */
export const bullmqExecutorSpec = definePlugin({
  kind: 'executor',
  name: 'bullmq',
  doc: "trials as jobs on a BullMQ queue in Redis ($REDIS_URL), run by `shnet worker` processes; a dead worker's trial is resumed by another",
  version: shnetVersion,
  options: bullmqExecutorOptions,
  plugin: BullmqExecutor,
});

export const bullmqCommands: CliCommandContribution[] = [workerCommand];
