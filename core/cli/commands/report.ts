import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from '../../contracts/services';
import type { PluginManifest } from '../../registry/plugin-spec';
import { DEFAULT_REPORT_CHOICES, writeReport } from '../../run/report/write-report';
import { withOverrides } from '../options';

interface ReportCliOptions {
  set: string[];
  split?: string;
  out?: string;
  recipe?: string;
  data?: string;
  samples: number;
  failures: number;
  seed: number;
  track?: boolean;
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

/** `shnet report`: one HTML page that shows what a trained run retrieves (docs/use.md). */
export function registerReport(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('report')
      .argument('<target>', 'a run folder (its best checkpoint and recipe.yaml) or a checkpoint file')
      .description('write an HTML page of what a trained run retrieves: samples both ways, worst failures, recall by caption type')
      .option('--split <name>', "split to report on (default: the recipe's evaluate.split)")
      .option('--out <file.html>', 'where to write the page (default: report.html in the run folder)')
      .option('--recipe <file>', 'recipe of a checkpoint that is not inside a run folder')
      .option('--data <node>', "another data set, as YAML: '{type: shapes, args: {seed: 7}}' (same as --set data=…)")
      .option('--samples <n>', 'captions and images sampled for the retrieval panels', integer, DEFAULT_REPORT_CHOICES.samples)
      .option('--failures <n>', 'worst failures shown each way', integer, DEFAULT_REPORT_CHOICES.failures)
      .option('--seed <n>', 'seed of the sample', integer, DEFAULT_REPORT_CHOICES.seed)
      .option('--track', "also log the page as an artifact of the run's tracked (MLflow) run"),
  ).action(async (target: string, options: ReportCliOptions) => {
    const overrides = [...options.set, ...(options.data !== undefined ? [`data=${options.data}`] : [])];
    const written = await writeReport(manifests, { target, recipe: options.recipe, overrides }, options, logger());
    process.stdout.write(`${written.path}\n`);
  });
}
