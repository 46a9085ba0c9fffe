import type { TSchema } from '@sinclair/typebox';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { closestNames } from './suggest';

/** One schema violation: the dotted key path of the offending value and what is wrong with it. */
export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Turns a failed validator's ajv errors into key paths under `base` and readable messages: unknown keys get a
 * "did you mean", unions of constants read as "must be one of …".
 */
export function schemaProblems(validate: ValidateFunction, base: string): SchemaProblem[] {
  const errors = validate.errors ?? [];
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    if (unionPaths.has(error.instancePath) && error.keyword !== 'anyOf') continue;
    const path = joinKeys(base, error.instancePath.split('/').slice(1).join('.')).replace(/\.$/, '');
    problems.push(describeError(error, path));
  }
  return problems;
}

function describeError(error: ErrorObject, path: string): SchemaProblem {
  const schema = error.parentSchema as TSchema | undefined;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((schema?.properties as object | undefined) ?? {});
      const hint = closestNames(key, known);
      return {
        path: joinKeys(path, key),
        message: `unknown option${hint.length ? `; did you mean '${hint[0]}'?` : ''} (options: ${known.join(', ') || 'none'})`,
      };
    }
    case 'required':
      return { path: joinKeys(path, (error.params as { missingProperty: string }).missingProperty), message: 'required option is missing' };
    case 'anyOf': {
      const branches = (schema?.anyOf as TSchema[] | undefined) ?? [];
      const constants = branches.map((b) => b.const).filter((c) => c !== undefined);
      return { path, message: constants.length === branches.length ? `must be one of: ${constants.join(', ')}` : 'matches none of the allowed forms' };
    }
    case 'format':
      return { path, message: FORMAT_MESSAGES[(error.params as { format: string }).format] ?? error.message ?? error.keyword };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

/** What a value of each format in `registry.ts`'s OPTION_FORMATS must be, as the message says it. */
const FORMAT_MESSAGES: Readonly<Record<string, string>> = {
  'file-name': "must be a plain name (no '/', '\\' or NUL, not '.' or '..'): it names a folder",
};

function joinKeys(base: string, key: string): string {
  return base && key ? `${base}.${key}` : base || key;
}
