import type { Command } from 'commander';

/** Collects a repeatable option (`--set a=1 --set b=2`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds the `--set KEY=VALUE` option every recipe-taking command shares. */
export function withOverrides(command: Command): Command {
  return command.option('--set <key=value>', 'override a recipe value (YAML-typed; repeatable), e.g. loss.args.margin=0.1', collect, []);
}

/** Global options, read by every command through `program.opts()`. */
export interface GlobalOptions {
  verbose?: boolean;
  quiet?: boolean;
  /** Run the code of plugin packages that recipes name (core/registry/plugin-trust.ts). */
  allowPlugins?: boolean;
}
