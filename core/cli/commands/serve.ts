import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from '../../contracts/services';
import type { PluginManifest } from '../../registry/plugin-spec';
import { DEFAULT_EXACT_BELOW, RunRetrieval } from '../../run/retrieval';
import { startServer } from '../../serve/server';
import { onTerminationSignal } from '../../train/tracking';
import { withOverrides } from '../options';

interface ServeCliOptions {
  set: string[];
  host: string;
  port: number;
  split?: string;
  recipe?: string;
  data?: string;
  exactBelow: number;
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

function port(value: string): number {
  const n = integer(value);
  if (n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

/**
 * `shnet serve`: a trained run behind HTTP (docs/use.md). The model is loaded and the image index opened (built and
 * saved beside the run, or reloaded) before the server listens, so the first query is as fast as the rest. Runs
 * until SIGINT or SIGTERM.
 */
export function registerServe(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('serve')
      .argument('<target>', 'a run folder (its best checkpoint and recipe.yaml) or a checkpoint file')
      .description('serve a trained run: a JSON API (/query, /images/ID.png, /health) and a search page')
      .option('--host <address>', 'interface to listen on (loopback by default; 0.0.0.0 exposes the server to the network)', '127.0.0.1')
      .option('--port <n>', 'port (0: any free one)', port, 8080)
      .option('--split <name>', "split to search (default: the recipe's evaluate.split)")
      .option('--recipe <file>', 'recipe of a checkpoint that is not inside a run folder')
      .option('--data <node>', "another data set, as YAML: '{type: shapes, args: {seed: 7}}' (same as --set data=…)")
      .option('--exact-below <n>', 'search exactly when the split has fewer images than this, else with an HNSW index', integer, DEFAULT_EXACT_BELOW),
  ).action(async (target: string, options: ServeCliOptions) => {
    const overrides = [...options.set, ...(options.data !== undefined ? [`data=${options.data}`] : [])];
    const log = logger();
    const retrieval = await RunRetrieval.open(manifests, { target, recipe: options.recipe, overrides }, options.split, log, { exactBelow: options.exactBelow });
    try {
      await retrieval.index('images');
      const server = await startServer(retrieval, { host: options.host, port: options.port }, log);
      if (!/^(127\.|::1$|localhost$)/.test(options.host))
        log.warn(`listening on ${options.host}: whoever reaches this machine on port ${new URL(server.url).port} can query the model`);
      // The one line a script waits for (stdout); everything else is logged to stderr.
      process.stdout.write(`serving ${target} (split '${retrieval.split}', ${retrieval.numImages} images) on ${server.url}\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const remove = onTerminationSignal((s) => {
          remove();
          resolve(s);
        });
      });
      log.info(`${signal} received: stopping the server`);
      await server.close();
    } finally {
      await retrieval.close();
    }
  });
}
