import type { TSchema } from '@sinclair/typebox';

/** One line per option of an options schema: `name: type = default — description`. */
export function describeOptions(schema: TSchema, prefix = ''): string[] {
  const properties = (schema.properties ?? {}) as Record<string, TSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).flatMap(([name, option]) => {
    const type = describeType(option);
    const fallback = option.default !== undefined ? ` = ${JSON.stringify(option.default)}` : required.has(name) ? ' (required)' : '';
    const line = `${prefix}${name}: ${type}${fallback}${option.description ? ` — ${option.description}` : ''}`;
    return option.type === 'object' && option.properties ? [line, ...describeOptions(option, `${prefix}${name}.`)] : [line];
  });
}

function describeType(option: TSchema): string {
  if (option.const !== undefined) return JSON.stringify(option.const);
  if (Array.isArray(option.anyOf)) return (option.anyOf as TSchema[]).map(describeType).join(' | ');
  if (Array.isArray(option.enum)) return option.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
  if (option.type === 'array') return `${describeType((option.items ?? {}) as TSchema)}[]`;
  const bounds = [
    option.minimum !== undefined ? `>=${option.minimum}` : '',
    option.exclusiveMinimum !== undefined ? `>${option.exclusiveMinimum}` : '',
    option.maximum !== undefined ? `<=${option.maximum}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${String(option.type ?? 'any')}${bounds ? ` (${bounds})` : ''}`;
}
