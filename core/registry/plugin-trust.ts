/**
 * Whether this process may run the code of plugins that a recipe names (its `plugins:` list). A recipe is data: it
 * can be downloaded with a paper, and reading or validating it must never run code from wherever it points. Running
 * such code is the user's decision, made on the command line of the process that builds the run
 * (`shnet run --allow-plugins`, `shnet worker --allow-plugins`), never by a recipe, a queue or a file.
 *
 * The decision is kept in the environment so that the processes this one starts for the same job (a sweep's
 * trials, a worker's trials) inherit it. See docs/plugins.md#security.
 */
export const ALLOW_PLUGINS_ENV = 'SHNET_ALLOW_PLUGINS';

/** Lets this process, and the processes it starts, run the code of plugins that recipes name. */
export function allowRecipePlugins(env: NodeJS.ProcessEnv = process.env): void {
  env[ALLOW_PLUGINS_ENV] = '1';
}

/** Whether recipes' plugin code may run in this process. */
export function recipePluginsAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[ALLOW_PLUGINS_ENV] === '1';
}
