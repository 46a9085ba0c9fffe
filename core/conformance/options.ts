/**
 * Options-schema checks: for each option a value of the wrong type is refused, and the refusal names the option's
 * full key path, as `shnet validate` would print it (the registry's validator + the recipe's problem format).
 */
import { formatProblem } from '../recipe/errors';
import { joinPath } from '../recipe/located';
import { NodeKey } from '../recipe/reserved-keys';
import { validateOptions } from '../recipe/validate';
import type { PluginSpec } from '../registry/plugin-spec';
import type { PluginRegistry } from '../registry/registry';
import { fail, failIfAny } from './report';

/** Values tried in turn as "the wrong type" for an option: the first its schema refuses is used. */
const WRONG_VALUES: readonly unknown[] = ['not-a-valid-value', 123.5, true, ['a', 'list'], { a: 'mapping' }];

function optionNames(spec: PluginSpec): string[] {
  return Object.keys((spec.options as { properties?: Record<string, unknown> }).properties ?? {});
}

/**
 * For every option: some value of another JSON type is refused, with a message that names
 * `<path>.args.<option>`. An option that accepts every type fails the check (a typo would go unnoticed).
 */
export function checkWrongTypes(spec: PluginSpec, registry: PluginRegistry, path: string, validArgs: Record<string, unknown>): string {
  const plugin = registry.get(spec.kind, spec.name);
  const names = optionNames(spec);
  const problems: string[] = [];
  for (const name of names) {
    const keyPath = joinPath(joinPath(path, NodeKey.args), name);
    let refused = false;
    for (const wrong of WRONG_VALUES) {
      const found = validateOptions(plugin, { ...structuredClone(validArgs), [name]: wrong }, joinPath(path, NodeKey.args));
      if (found.length === 0) continue;
      refused = true;
      const messages = found.map(formatProblem);
      if (!messages.some((m) => m.startsWith(`${keyPath}: `) || m.startsWith(`${keyPath}.`))) {
        problems.push(`${name} = ${JSON.stringify(wrong)} is refused, but no message names ${keyPath} (got: ${messages.join(' | ')})`);
      }
      break;
    }
    if (!refused) problems.push(`${name} accepts values of every type (${WRONG_VALUES.map((v) => JSON.stringify(v)).join(', ')})`);
  }
  failIfAny(problems);
  return names.length === 0 ? 'no options' : `${names.length} option${names.length === 1 ? '' : 's'}, each refused a wrong type at its key path`;
}

/** An option that does not exist is refused, with its key path in the message. */
export function checkUnknownOption(spec: PluginSpec, registry: PluginRegistry, path: string, validArgs: Record<string, unknown>): string {
  const unknown = 'conformanceNoSuchOption';
  const keyPath = joinPath(joinPath(path, NodeKey.args), unknown);
  const found = validateOptions(registry.get(spec.kind, spec.name), { ...structuredClone(validArgs), [unknown]: 1 }, joinPath(path, NodeKey.args));
  if (found.length === 0) fail(`an unknown option '${unknown}' is accepted (schemas should be closed: a typo must not be a silent no-op)`);
  const messages = found.map(formatProblem);
  if (!messages.some((m) => m.startsWith(`${keyPath}: `))) fail(`the unknown option is refused, but no message names ${keyPath}: ${messages.join(' | ')}`);
  return messages[0];
}
