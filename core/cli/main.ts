#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { ShnetError } from '../errors';
import type { PluginManifest } from '../registry/plugin-spec';
import { builtinManifest } from '../registry/builtin';
import { allowRecipePlugins } from '../registry/plugin-trust';
import { runRecipe } from '../run/run';
import { formatRunSummary } from '../run/summary';
import { StderrLogger } from '../services/logger';
import { shnetVersion } from '../version';
import { registerEncode } from './commands/encode';
import { registerEval } from './commands/eval';
import { registerImport } from './commands/import';
import { registerManifest } from './commands/manifest';
import { registerPlugins } from './commands/plugins';
import { registerQuery } from './commands/query';
import { registerReport } from './commands/report';
import { registerSchema } from './commands/schema';
import { registerServe } from './commands/serve';
import { registerSweep } from './commands/sweep';
import { registerTestPlugin } from './commands/test-plugin';
import { registerValidate } from './commands/validate';
import { withOverrides, type GlobalOptions } from './options';

/** Builds the `shnet` program: core commands plus those the loaded manifests contribute. */
export function createProgram(manifests: readonly PluginManifest[]): Command {
  const program = new Command('shnet')
    .description('image-sentence retrieval research: 3SHNet as plugins, declarative recipes, MLflow tracking')
    .version(shnetVersion)
    .option('--verbose', 'debug logging, and stack traces for errors')
    .option('--quiet', 'warnings and errors only')
    .option('--allow-plugins', "run the code of plugin packages that recipes name in 'plugins:' (without it they are read as data only)")
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .hook('preAction', () => {
      if (program.opts<GlobalOptions>().allowPlugins) allowRecipePlugins();
    });

  withOverrides(
    program
      .command('run')
      .argument('<recipe>', 'recipe file (YAML)')
      .description('validate the recipe, build every plugin, train, evaluate and track the run')
      .option('--dry-run', 'validate and print the resolved recipe without building anything')
      .option('--resume <run-dir>', 'continue a run from its last checkpoint (weights, optimizer, RNG, epoch)')
      .option('--force', 'with --resume: continue even if the recipe differs from the one the run started with')
      .option('--report', 'at the end, write report.html into the run folder and log it to the tracked run (evaluate.report)')
      .option('--json', 'print the end-of-run summary as JSON (stdout), for scripts'),
  ).action(async (recipe: string, options: { set: string[]; dryRun?: boolean; resume?: string; force?: boolean; report?: boolean; json?: boolean }) => {
    const outcome = await runRecipe(
      manifests,
      { recipe, overrides: options.set, dryRun: options.dryRun, resume: options.resume, force: options.force, report: options.report },
      loggerFor(program),
    );
    // Logs and progress go to stderr; the summary is the command's output (silenced by --quiet unless asked as JSON).
    if (outcome.summary && options.json) process.stdout.write(`${JSON.stringify(outcome.summary, null, 2)}\n`);
    else if (outcome.summary && !program.opts<GlobalOptions>().quiet) process.stdout.write(formatRunSummary(outcome.summary));
  });
  registerValidate(program, manifests);
  registerPlugins(program, manifests);
  registerSchema(program, manifests);
  registerImport(program, manifests, () => loggerFor(program));
  registerEval(program, manifests, () => loggerFor(program));
  registerEncode(program, manifests, () => loggerFor(program));
  registerQuery(program, manifests, () => loggerFor(program));
  registerReport(program, manifests, () => loggerFor(program));
  registerServe(program, manifests, () => loggerFor(program));
  registerSweep(program, manifests, () => loggerFor(program));
  registerTestPlugin(program, manifests);
  registerManifest(program);
  for (const manifest of manifests) for (const command of manifest.commands ?? []) command.register(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

function loggerFor(program: Command): StderrLogger {
  const options = program.opts<GlobalOptions>();
  return new StderrLogger(options.verbose ? 'debug' : options.quiet ? 'warn' : 'info');
}

/** Runs the CLI and returns the exit code: 0 success, 2 bad input, 1 failure while running. */
export async function main(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    await createProgram([builtinManifest()]).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
    }
    if (error instanceof ShnetError) {
      process.stderr.write(`shnet: ${error.message}\n`);
      if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`shnet: ${message}\n${verbose && error instanceof Error ? `${error.stack}\n` : '(run with --verbose for the stack trace)\n'}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
