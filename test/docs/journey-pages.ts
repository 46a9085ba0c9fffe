/**
 * Which pages test/docs/journeys.test.ts runs, in which order and folder. test/docs/doc-blocks.test.ts checks that
 * every page with a `journey` block is in this list, so a documented command cannot go unrun.
 */
export interface JourneyPages {
  readonly title: string;
  /** Pages run one after another in one folder, as a reader would: README.md first where "the main job" comes first. */
  readonly pages: readonly string[];
}

export const JOURNEYS: readonly JourneyPages[] = [
  {
    title: "1. the main job (README.md), then docs/recipes.md from its step 0 (the MLflow server), docs/datasets.md's own arrays, docs/sweeps.md's plan",
    pages: ['README.md', 'docs/recipes.md', 'docs/datasets.md', 'docs/sweeps.md'],
  },
  {
    title: '2. docs/plugins.md: a plugin package, tested and in a tracked run; 3. docs/mlflow.md: the local store, comparing runs',
    pages: ['docs/plugins.md', 'docs/mlflow.md'],
  },
  {
    title: '4. docs/use.md: a trained run asked, its data looked at, its report tracked, served',
    pages: ['docs/use.md'],
  },
];
