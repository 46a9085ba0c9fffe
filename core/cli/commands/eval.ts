import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Option, type Command } from 'commander';
import type { EvaluationReport, TiePolicy } from '../../contracts/evaluation';
import type { Logger } from '../../contracts/services';
import { UsageError } from '../../errors';
import type { PluginManifest } from '../../registry/plugin-spec';
import { evaluateEnsemble, evaluateModel, evaluateSimilarityFiles, type EvalTarget, type ModelEvaluation } from '../../run/evaluate-model';
import { trackEnsemble } from '../../run/track-ensemble';
import { withOverrides } from '../options';
import { formatReportTable } from '../report-table';

interface EvalCliOptions {
  set: string[];
  split?: string;
  protocol?: string;
  saveSims?: string;
  ties?: TiePolicy;
  ranks?: string;
  recipe?: string;
  data?: string;
  ensemble?: string[];
  sims?: string[];
  out?: string;
  evaluator: string;
  track?: boolean;
}

/**
 * `shnet eval`: one trained model, an ensemble of models, or saved similarity matrices, under the reference
 * protocol (docs/evaluation.md). Prints a table, writes the report as JSON.
 */
export function registerEval(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('eval')
      .argument('[target]', 'a run folder (its best checkpoint and recipe.yaml) or a checkpoint file')
      .description('evaluate a trained model (or --ensemble of runs, or --sims matrices): R@1/5/10, medr, meanr, rSum')
      .option('--split <name>', "split to evaluate (default: the recipe's evaluate.split)")
      .option('--protocol <name>', "coco-5fold-1k, coco-5k, f30k-1k or all (every image as one block); default: the recipe's")
      .option('--save-sims <file.npy>', 'also write the [N, 5N] float32 similarity matrix (the mean one for an ensemble)')
      .addOption(
        new Option('--ties <policy>', "how equal scores rank: against the query (pessimistic) or not (optimistic); default: the evaluator's").choices([
          'optimistic',
          'pessimistic',
        ]),
      )
      .option('--ranks <file>', "also write every query's 0-based rank: .npy (int32 [N, 6]: i2t, then t2i of the five captions) or .json")
      .option('--recipe <file>', 'recipe of a checkpoint that is not inside a run folder')
      .option('--data <node>', "another data set for cross-data-set evaluation, as YAML, e.g. '{type: shapes, args: {seed: 7}}' (same as --set data=…)")
      .option('--ensemble <runs...>', 'average the similarity matrices of these runs (hybrid level) and evaluate the mean')
      .option('--sims <files...>', 'evaluate saved [N, 5N] .npy matrices (their mean when several); no model is loaded')
      .option('--evaluator <type>', 'with --sims: evaluator plugin that reads the matrices', 'retrieval')
      .option('--out <file.json>', 'report path (default: eval-<split>-<protocol>.json in the run folder; --ensemble/--sims: only when given)')
      .option('--track', "with --ensemble: log a parent MLflow run for the ensemble and a child per member, through the first member's tracker"),
  ).action(async (target: string | undefined, options: EvalCliOptions) => {
    await runEval(manifests, target, options, logger());
  });
}

async function runEval(manifests: readonly PluginManifest[], target: string | undefined, options: EvalCliOptions, logger: Logger): Promise<void> {
  const modes = [target !== undefined, options.ensemble !== undefined, options.sims !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('shnet eval takes exactly one of: a run folder or checkpoint, --ensemble RUN RUN…, --sims FILE…');
  const overrides = [...options.set, ...(options.data !== undefined ? [`data=${options.data}`] : [])];
  const evaluateOptions = { protocol: options.protocol, saveSimilarity: options.saveSims, ties: options.ties, saveRanks: options.ranks };
  if (options.saveSims) mkdirSync(dirname(options.saveSims), { recursive: true });
  if (options.ranks && !/\.(npy|json)$/i.test(options.ranks)) throw new UsageError(`--ranks ${options.ranks}: the file name must end in .npy or .json`);

  if (options.sims) {
    if (overrides.length > 0 || options.recipe || options.split)
      throw new UsageError('--sims evaluates matrices as they are: --set, --data, --recipe and --split do not apply');
    const report = await evaluateSimilarityFiles(manifests, options.sims, { type: options.evaluator }, logger, evaluateOptions);
    process.stdout.write(formatReportTable(report, `similarity ${options.sims.join(' + ')} (${report.protocol})`));
    if (options.out) writeReport(logger, options.out, { sims: options.sims, ...reportJson(report) });
    return;
  }

  if (options.ensemble) {
    const targets: EvalTarget[] = options.ensemble.map((run) => ({ target: run, recipe: options.recipe, overrides }));
    const result = await evaluateEnsemble(manifests, targets, options.split, logger, evaluateOptions);
    for (const member of result.members) process.stdout.write(formatReportTable(member.report, memberTitle(member)));
    const split = result.members[0].split;
    process.stdout.write(formatReportTable(result.ensemble, `ensemble of ${targets.length} on '${split}' (${result.ensemble.protocol})`));
    const json = { split, numImages: result.members[0].numImages, overrides, members: result.members.map(memberJson), ensemble: reportJson(result.ensemble) };
    if (options.track) {
      const runId = await trackEnsemble(manifests, targets, result, logger);
      Object.assign(json, { trackerRunId: runId });
    }
    if (options.out) writeReport(logger, options.out, json);
    return;
  }
  if (options.track) throw new UsageError('--track applies to --ensemble only (a single run was tracked when it trained)');

  const evaluation = await evaluateModel(manifests, { target: target!, recipe: options.recipe, overrides }, options.split, logger, evaluateOptions);
  process.stdout.write(formatReportTable(evaluation.report, memberTitle(evaluation)));
  const folder = evaluation.runDir ?? dirname(evaluation.checkpoint);
  writeReport(logger, options.out ?? join(folder, `eval-${evaluation.split}-${evaluation.report.protocol}.json`), { ...memberJson(evaluation), overrides });
}

function memberTitle(m: ModelEvaluation): string {
  return `${m.runDir ?? m.checkpoint} on '${m.split}' (${m.numImages} images, ${m.report.protocol}${m.report.ties ? `, ties ${m.report.ties}` : ''})`;
}

function memberJson(m: ModelEvaluation): Record<string, unknown> {
  return { checkpoint: m.checkpoint, recipe: m.recipe, runDir: m.runDir, split: m.split, numImages: m.numImages, ...reportJson(m.report) };
}

function reportJson(report: EvaluationReport): Record<string, unknown> {
  return {
    protocol: report.protocol,
    ...(report.ties ? { ties: report.ties } : {}),
    metrics: report.metrics,
    ...(report.folds ? { folds: report.folds } : {}),
  };
}

function writeReport(logger: Logger, path: string, content: Record<string, unknown>): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(content, null, 2)}\n`);
  logger.info(`report written to ${path}`);
}
