import { UsageError } from '../errors';

/** Where a value came from: a recipe file and line, or a command-line override. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

/** One problem with a recipe, located. */
export interface RecipeProblem {
  /** Dotted key path of the offending value (`model.image.highlight.spatial.args.lambda`). */
  readonly path: string;
  readonly message: string;
  readonly location?: SourceLocation;
  /** `kind/name` of the plugin whose schema was violated, when there is one. */
  readonly plugin?: string;
}

/** Formats a problem as `file:line: key.path: message [plugin kind/name]`. */
export function formatProblem(problem: RecipeProblem): string {
  const where = problem.location ? `${problem.location.file}:${problem.location.line}: ` : '';
  const path = problem.path ? `${problem.path}: ` : '';
  const plugin = problem.plugin ? ` [${problem.plugin}]` : '';
  return `${where}${path}${problem.message}${plugin}`;
}

/** Problems in reading order: by file, then line (stable, so problems on one line keep their order). */
export function sortProblems(problems: readonly RecipeProblem[]): RecipeProblem[] {
  return [...problems].sort((a, b) => (a.location?.file ?? '').localeCompare(b.location?.file ?? '') || (a.location?.line ?? 0) - (b.location?.line ?? 0));
}

/** Every problem found in a recipe, reported at once, in reading order. Exit code 2. */
export class RecipeError extends UsageError {
  readonly problems: readonly RecipeProblem[];
  constructor(problems: readonly RecipeProblem[]) {
    problems = sortProblems(problems);
    super(`recipe has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` + problems.map((p) => `  ${formatProblem(p)}`).join('\n'));
    this.problems = problems;
  }
}
