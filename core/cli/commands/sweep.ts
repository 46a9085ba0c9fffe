import type { Command } from 'commander';
import type { Logger } from '../../contracts/services';
import { UsageError } from '../../errors';
import type { PluginManifest } from '../../registry/plugin-spec';
import { runSweep } from '../../sweep/run-sweep';
import { withOverrides } from '../options';

interface SweepCliOptions {
  set: string[];
  dryRun?: boolean;
  resume?: boolean;
  maxRetries: string;
  failFast?: boolean;
  detach?: boolean;
  executor?: string;
  parallel?: string;
  queue?: string;
}

/** `shnet sweep FILE`: expand, validate every trial, then run them through an executor (docs/sweeps.md). */
export function registerSweep(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('sweep')
      .argument('<file>', 'a sweep file {recipe, sweep}, or a recipe with a sweep: section')
      .description('run a recipe over a grid, random samples and seeds: every trial validated first, one parent MLflow run')
      .option('--dry-run', 'print the plan (trial ids and swept values) without running anything')
      .option('--resume', 'continue the sweep: skip done trials, resume interrupted ones, retry failed ones')
      .option('--max-retries <n>', 'times a failed trial is retried', '1')
      .option('--fail-fast', 'stop at the first failed trial')
      .option('--detach', 'submit the trials and return (queue executors); follow up with --resume')
      .option('--executor <type>', "executor plugin (default: the recipe's executor:, else local)")
      .option('--parallel <n>', 'local executor: trials run at once')
      .option('--queue <name>', 'bullmq executor: queue name'),
  ).action(async (file: string, options: SweepCliOptions) => {
    const maxRetries = Number(options.maxRetries);
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new UsageError(`--max-retries must be an integer ≥ 0, got '${options.maxRetries}'`);
    const args: Record<string, unknown> = {};
    if (options.parallel !== undefined) args.parallel = Number(options.parallel);
    if (options.queue !== undefined) args.queue = options.queue;
    await runSweep(
      manifests,
      {
        file,
        overrides: options.set,
        dryRun: options.dryRun,
        resume: options.resume,
        maxRetries,
        failFast: options.failFast,
        detach: options.detach,
        executor: { ...(options.executor ? { type: options.executor } : {}), args },
      },
      logger(),
    );
  });
}
