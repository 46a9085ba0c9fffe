import type { Command } from 'commander';

/**
 * A CLI sub-command contributed by a plugin manifest (for example `shnet sync` and `shnet compare` come with the
 * MLflow tracker). Core stays free of plugin imports: the CLI asks every loaded manifest for its commands.
 */
export interface CliCommandContribution {
  /** Sub-command name, unique across manifests. */
  readonly name: string;
  /** Adds the sub-command (arguments, options, `--help` text, action) to `program`. */
  register(program: Command): void;
}
