/**
 * shnet's error classes. The CLI maps them to exit codes: bad input (recipe, arguments, data files named by the user)
 * exits 2 without a stack trace; a failure while running exits 1.
 */

/** Base class: an error whose message is written for the user, not the developer. */
export class ShnetError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user gave something shnet cannot use: a bad argument, an unknown plugin, a missing file. Exit code 2. */
export class UsageError extends ShnetError {
  override readonly exitCode: number = 2;
}

/** A failure while a run was going (NaN loss, unreachable store beyond retries, I/O). Exit code 1. */
export class RunFailure extends ShnetError {
  override readonly exitCode: number = 1;
}
