/**
 * Reads a `shapes` caption back with the grammar of its templates, and checks its statements against a scene by
 * object centres — independently of the generator's own relation code.
 */
import { CAPTION_TEMPLATES, RELATION_PHRASES, SIZE_WORDS } from '../../../../plugins/dataset/shapes/captions';
import type { SceneObject } from '../../../../plugins/dataset/shapes/scene';
import { COLOUR_NAMES, SHAPES } from '../../../../plugins/dataset/shapes/vocabulary';

export interface Mention {
  readonly sizeWord: string | null;
  readonly colour: string;
  readonly shape: string;
}

/** A relation statement "subject <relation> object". */
export interface Statement {
  readonly subject: Mention;
  readonly relation: string;
  readonly object: Mention;
}

export interface ParsedCaption {
  readonly template: string;
  readonly statements: readonly Statement[];
}

const alternatives = (words: readonly string[]) => [...words].sort((a, b) => b.length - a.length).join('|');
const SIZE = alternatives(Object.values(SIZE_WORDS).flat());
const COLOUR = alternatives(COLOUR_NAMES);
const SHAPE = alternatives(SHAPES);
const RELATION = alternatives(Object.values(RELATION_PHRASES).flat());

const SLOT_PATTERNS: Record<string, { pattern: string; groups: number }> = {
  A: { pattern: `an? (?:(${SIZE}) )?(${COLOUR}) (${SHAPE})`, groups: 3 },
  B: { pattern: `an? (?:(${SIZE}) )?(${COLOUR}) (${SHAPE})`, groups: 3 },
  C: { pattern: `an? (?:(${SIZE}) )?(${COLOUR}) (${SHAPE})`, groups: 3 },
  r1: { pattern: `(${RELATION})`, groups: 1 },
  r2: { pattern: `(${RELATION})`, groups: 1 },
  b: { pattern: `the (${COLOUR}) (${SHAPE})`, groups: 2 },
};

const PARSERS = CAPTION_TEMPLATES.map((template) => {
  const slots: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_, slot: string) => {
    slots.push(slot);
    return SLOT_PATTERNS[slot].pattern;
  });
  return { template, slots, regex: new RegExp(`^${source}$`) };
});

/** Relation name of a phrase ("to the left of" → "left"). */
export function relationOfPhrase(phrase: string): string {
  const found = Object.entries(RELATION_PHRASES).find(([, phrases]) => phrases.includes(phrase));
  if (!found) throw new Error(`unknown relation phrase '${phrase}'`);
  return found[0];
}

/** Parses a caption; throws unless exactly one template matches. */
export function parseCaption(caption: string): ParsedCaption {
  const matches = PARSERS.map((p) => ({ parser: p, match: p.regex.exec(caption) })).filter((m) => m.match);
  if (matches.length !== 1) throw new Error(`caption matches ${matches.length} templates: '${caption}'`);
  const { parser, match } = matches[0];
  const values: Record<string, string[]> = {};
  let group = 1;
  for (const slot of parser.slots) {
    values[slot] = match!.slice(group, group + SLOT_PATTERNS[slot].groups);
    group += SLOT_PATTERNS[slot].groups;
  }
  const mention = (slot: string): Mention => {
    const [sizeWord, colour, shape] = values[slot];
    return { sizeWord: sizeWord ?? null, colour, shape };
  };
  const statements: Statement[] = [{ subject: mention('A'), relation: relationOfPhrase(values.r1[0]), object: mention('B') }];
  if (values.C) {
    const [colour, shape] = values.b;
    const b = mention('B');
    if (colour !== b.colour || shape !== b.shape) {
      throw new Error(`'the ${colour} ${shape}' does not repeat B: '${caption}'`);
    }
    statements.push({ subject: mention('C'), relation: relationOfPhrase(values.r2[0]), object: b });
  }
  return { template: parser.template, statements };
}

/** The one object a mention names (by colour and shape), checking its size word; throws when there is none. */
export function resolveMention(mention: Mention, objects: readonly SceneObject[]): SceneObject {
  const found = objects.filter((o) => o.colour === mention.colour && o.shape === mention.shape);
  if (found.length !== 1) throw new Error(`'${mention.colour} ${mention.shape}' names ${found.length} objects`);
  if (mention.sizeWord !== null && !SIZE_WORDS[found[0].size].includes(mention.sizeWord)) {
    throw new Error(`'${mention.sizeWord}' does not fit a ${found[0].size} ${mention.colour} ${mention.shape}`);
  }
  return found[0];
}

/** Whether a statement holds: centre offset beyond 1/8 of the image side in the stated direction. */
export function statementHolds(statement: Statement, objects: readonly SceneObject[], imageSize: number): boolean {
  const a = resolveMention(statement.subject, objects);
  const b = resolveMention(statement.object, objects);
  const margin = imageSize / 8;
  switch (statement.relation) {
    case 'left':
      return a.cx + margin < b.cx;
    case 'right':
      return a.cx > b.cx + margin;
    case 'above':
      return a.cy + margin < b.cy;
    case 'below':
      return a.cy > b.cy + margin;
    default:
      throw new Error(`unknown relation ${statement.relation}`);
  }
}
