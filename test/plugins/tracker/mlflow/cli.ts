import { Command } from 'commander';
import { mlflowCommands } from '../../../../plugins/tracker/mlflow';

/** Runs `shnet <args…>` with the MLflow package's commands through commander, as the CLI would; returns stdout. */
export async function shnetOutput(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  for (const command of mlflowCommands) command.register(program);
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return out;
}

/** `shnet compare …` output. */
export const compareOutput = (args: string[]) => shnetOutput(['compare', ...args]);
