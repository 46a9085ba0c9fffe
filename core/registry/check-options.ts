import type { Static, TSchema } from '@sinclair/typebox';
import { UsageError } from '../errors';
import { createOptionsAjv } from './registry';
import { schemaProblems } from './schema-errors';

/**
 * Checks options that do not come from a recipe (a command's flags, a node given on the command line) against a
 * plugin's options schema, with the same rules and messages as recipe validation.
 * @param where what the options belong to, for the message (`shapes`, `executor bullmq`)
 * @returns a copy of `raw` with the schema's defaults filled in
 * @throws UsageError listing every problem with its key path
 */
export function checkOptions<S extends TSchema>(schema: S, raw: Readonly<Record<string, unknown>>, where: string): Static<S> {
  const options = structuredClone(raw) as Record<string, unknown>;
  const validate = createOptionsAjv().compile(schema);
  if (!validate(options)) {
    const problems = schemaProblems(validate, '').map((p) => `${p.path || '(options)'}: ${p.message}`);
    throw new UsageError(`${where}: invalid options:\n  - ${problems.join('\n  - ')}`);
  }
  return options as Static<S>;
}
