/**
 * Lints an event pattern against the canonical okePay event: the mistakes EventBridge accepts silently
 * and that then match nothing (a misspelt path, a numeric filter on a string), or everything, or
 * something else than meant. Warnings are patterns that cannot do what they say; notes are worth a look.
 *
 * The canonical event is read from its JSON Schema (`events/schema/`, generated from the zod schema), so
 * a field added there is known here. An object the schema leaves open (`additionalProperties` not false,
 * i.e. `detail.raw`, okePay's own fields) is free-form: any path below it is accepted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLosslessNumber } from 'lossless-json';
import { DEFAULT_EVENT_SOURCE } from '../canonical/constants.ts';
import {
  alternativesAccept,
  compileEventPattern,
  type EventPattern,
  type PatternField,
  type PatternOverride,
  renderJson,
} from '../event-pattern-matcher.ts';
import { KNOWN_IPN_EVENTS } from '../ipn/payload.ts';

export const CANONICAL_SCHEMA_FILE = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'events',
  'schema',
  'okepay-payment-event.schema.json',
);

export type LintSeverity = 'warning' | 'note';

export interface LintFinding {
  severity: LintSeverity;
  /** The field path the finding is about, e.g. `detail.amount.number`. */
  path: string;
  message: string;
  /** A replacement: the nearest valid path, a field of the right type, a known value. */
  suggestion?: string;
}

export interface LintOptions {
  /** The canonical event's JSON Schema. */
  schema: unknown;
  /** The `source` okePay events are published with, and the setting it comes from (for messages). */
  eventSource: { value: string; setting: string };
  /** The okePay event types the pipeline knows (`detail-type`, `detail.type`). */
  knownEventTypes: readonly string[];
}

/** The options for this project: the schema file, `EVENT_SOURCE` (or its default) and the known types. */
export function canonicalLintOptions(env: NodeJS.ProcessEnv = process.env): LintOptions {
  const configured = env.EVENT_SOURCE;
  return {
    schema: JSON.parse(readFileSync(CANONICAL_SCHEMA_FILE, 'utf8')),
    eventSource:
      configured !== undefined && configured !== ''
        ? { value: configured, setting: 'EVENT_SOURCE' }
        : { value: DEFAULT_EVENT_SOURCE, setting: 'the default; EVENT_SOURCE changes it' },
    knownEventTypes: KNOWN_IPN_EVENTS,
  };
}

export function lintEventPattern(pattern: EventPattern, options: LintOptions): LintFinding[] {
  const schema = indexSchema(options.schema);
  const compiled = compileEventPattern(pattern);
  const fields = [...new Set(compiled.branches.flatMap((branch) => branch.fields))].sort(
    (a, b) => a.order - b.order,
  );
  const findings = [
    ...fields.flatMap((field) => lintField(field, schema, options)),
    ...groupOverrides(compiled.overrides).map(overrideFinding),
    ...compiled.dottedKeys.map(
      ({ key, location }): LintFinding => ({
        severity: 'warning',
        path: location,
        message:
          `${location}: the key "${key}" contains a dot. EventBridge joins nested keys with dots, so it ` +
          `also matches events that nest them (${nested(key)}), and Event Ruler ` +
          'says this may change: write nested objects instead',
      }),
    ),
  ];
  const seen = new Set<string>();
  return findings.filter(({ message }) => !seen.has(message) && seen.add(message));
}

/** `a.b` as the nested keys it also matches: `{"a":{"b":...}}`. */
function nested(key: string): string {
  return key.split('.').reduceRight((inner, k) => `{"${k}":${inner}}`, '...');
}

// ---------------------------------------------------------------------------------------------------------
// The schema, as paths
// ---------------------------------------------------------------------------------------------------------

type SchemaType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array';

interface SchemaPath {
  types: Set<SchemaType>;
  enumValues: unknown[];
  /** An object whose properties are open: any path below it is valid. */
  freeForm: boolean;
  /** The innermost array this path is inside (below its own path), if any. */
  inArray: string | undefined;
}

type SchemaIndex = Map<string, SchemaPath>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Every path of the schema (arrays crushed, as the matcher does), in schema order. */
function indexSchema(schema: unknown): SchemaIndex {
  const index: SchemaIndex = new Map();
  const visit = (node: unknown, path: string, inArray: string | undefined): void => {
    if (!isRecord(node)) return;
    const entry = index.get(path) ?? { types: new Set(), enumValues: [], freeForm: false, inArray };
    if (path !== '') index.set(path, entry);
    const types = (Array.isArray(node.type) ? node.type : [node.type]).filter(
      (t): t is SchemaType => typeof t === 'string',
    );
    for (const type of types) entry.types.add(type);
    if (Array.isArray(node.enum)) entry.enumValues.push(...node.enum);
    if (types.includes('object') && node.additionalProperties !== false) entry.freeForm = true;
    for (const key of ['anyOf', 'oneOf', 'allOf']) {
      const options = node[key];
      if (Array.isArray(options)) for (const option of options) visit(option, path, inArray);
    }
    if (node.items !== undefined) visit(node.items, path, path);
    if (isRecord(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) visit(child, joinPath(path, key), inArray);
    }
  };
  visit(schema, '', undefined);
  return index;
}

type Kind = 'string' | 'number' | 'boolean' | 'null';

/** The kinds of leaf value a schema path holds (integer is a number; objects and arrays are not leaves). */
function leafKinds(entry: SchemaPath): Set<Kind> {
  const kinds = new Set<Kind>();
  for (const type of entry.types) {
    if (type === 'integer' || type === 'number') kinds.add('number');
    else if (type === 'string' || type === 'boolean' || type === 'null') kinds.add(type);
  }
  return kinds;
}

function describeKinds(entry: SchemaPath): string {
  const words: Record<SchemaType, string> = {
    string: 'a string',
    number: 'a number',
    integer: 'an integer',
    boolean: 'a boolean',
    null: 'null',
    object: 'an object',
    array: 'an array',
  };
  const types = [...entry.types].filter((t) => t !== 'array' || entry.types.size === 1);
  return types.map((t) => words[t]).join(' or ');
}

// ---------------------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------------------

function lintField(field: PatternField, schema: SchemaIndex, options: LintOptions): LintFinding[] {
  const { path } = field;
  const entry = schema.get(path);
  if (entry === undefined) {
    if (freeFormAncestor(path, schema) !== undefined) return [];
    const nearest = nearestPath(path, schema);
    const nearestEntry = schema.get(nearest);
    const isObject = nearestEntry !== undefined && leafKinds(nearestEntry).size === 0;
    return [
      {
        severity: 'warning',
        path,
        message:
          `${path}: no okePay event has this field, so this never matches; nearest valid path: ${nearest}` +
          (isObject
            ? ` (${describeKinds(nearestEntry)} with the fields ${childrenOf(nearest, schema).join(', ')})`
            : ''),
        suggestion: nearest,
      },
    ];
  }
  const findings: LintFinding[] = [];
  const kinds = leafKinds(entry);
  if (kinds.size === 0) {
    const always = field.alternatives.every((a) => isExists(a, false));
    findings.push({
      severity: 'warning',
      path,
      message:
        `${path}: ${describeKinds(entry)} in okePay events, and patterns only match values, so this ` +
        `${always ? 'always holds' : 'never matches'}; its fields: ${childrenOf(path, schema).join(', ')}`,
    });
    return findings;
  }
  for (const alternative of field.alternatives) {
    const problem = kindProblem(alternative, field, entry, kinds, schema);
    if (problem !== undefined) findings.push(problem);
  }
  findings.push(...enumFindings(field, entry));
  if (path === 'source' && !alternativesAccept(field.alternatives, options.eventSource.value)) {
    const { value, setting } = options.eventSource;
    findings.push({
      severity: 'warning',
      path,
      message: `source: ${renderJson(field.alternatives)} never matches okePay events, whose source is "${value}" (${setting})`,
      suggestion: value,
    });
  }
  if (path === 'detail-type' || path === 'detail.type') findings.push(...eventTypeNotes(field, options));
  if (entry.inArray !== undefined && field.alternatives.some((a) => isExists(a, false))) {
    findings.push({
      severity: 'note',
      path,
      message:
        `${path}: exists:false inside the array ${entry.inArray}: EventBridge counts the field as present ` +
        'if any element has it (leaving out only elements that fields sorting before it already ruled out), ' +
        'not element by element',
    });
  }
  return findings;
}

function childrenOf(path: string, schema: SchemaIndex): string[] {
  return [...schema.keys()].filter(
    (p) => p.startsWith(`${path}.`) && !p.slice(path.length + 1).includes('.'),
  );
}

function isExists(alternative: unknown, value: boolean): boolean {
  const entries = isRecord(alternative) ? Object.entries(alternative) : [];
  return entries.length === 1 && entries[0]?.[0] === 'exists' && entries[0][1] === value;
}

function freeFormAncestor(path: string, schema: SchemaIndex): string | undefined {
  for (let dot = path.lastIndexOf('.'); dot > 0; dot = path.lastIndexOf('.', dot - 1)) {
    const ancestor = path.slice(0, dot);
    if (schema.get(ancestor)?.freeForm) return ancestor;
  }
  return undefined;
}

/**
 * The valid path closest in edit distance. A free-form object offers the same tail below it, so that
 * `detail.Raw.amount` suggests `detail.raw.amount`.
 */
function nearestPath(path: string, schema: SchemaIndex): string {
  const segments = path.split('.');
  const candidates = [...schema.keys()];
  for (const [freePath, entry] of schema) {
    const depth = freePath.split('.').length;
    if (entry.freeForm && segments.length > depth) {
      candidates.push(joinPath(freePath, segments.slice(depth).join('.')));
    }
  }
  return nearest(path, candidates) ?? '';
}

function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, at(i - 2, j - 2) + 1);
      }
      row[j] = distance;
    }
  }
  return at(a.length, b.length);
}

/**
 * The leaf kinds an alternative can match, and whether it matches them by exclusion (anything-but, which
 * matches every value of another kind). Undefined for exists, which takes any kind.
 */
function alternativeKinds(
  alternative: unknown,
): { kinds: Kind[]; negated: boolean; words: string } | undefined {
  if (alternative === null) return { kinds: ['null'], negated: false, words: 'null' };
  if (typeof alternative === 'string') return { kinds: ['string'], negated: false, words: 'strings' };
  if (typeof alternative === 'boolean') return { kinds: ['boolean'], negated: false, words: 'booleans' };
  if (typeof alternative === 'number' || typeof alternative === 'bigint' || isLosslessNumber(alternative)) {
    return { kinds: ['number'], negated: false, words: 'numbers' };
  }
  if (!isRecord(alternative)) return undefined;
  const [operator, argument] = Object.entries(alternative)[0] ?? [];
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
    case 'wildcard':
    case 'cidr':
      return { kinds: ['string'], negated: false, words: 'strings' };
    case 'numeric':
      return { kinds: ['number'], negated: false, words: 'numbers' };
    case 'anything-but': {
      const values = Array.isArray(argument) ? argument : [argument];
      const strings = values.every((v) => typeof v === 'string' || isRecord(v));
      return strings
        ? { kinds: ['string'], negated: true, words: 'strings' }
        : { kinds: ['number'], negated: true, words: 'numbers' };
    }
    default:
      return undefined;
  }
}

function kindProblem(
  alternative: unknown,
  field: PatternField,
  entry: SchemaPath,
  kinds: ReadonlySet<Kind>,
  schema: SchemaIndex,
): LintFinding | undefined {
  const needed = alternativeKinds(alternative);
  if (needed === undefined || needed.kinds.some((kind) => kinds.has(kind))) return undefined;
  const { path } = field;
  const shown = renderJson(alternative);
  const is = `${path} is ${describeKinds(entry)} in okePay events`;
  if (needed.negated) {
    return {
      severity: 'warning',
      path,
      message: `${path}: ${shown} only excludes ${needed.words}, but ${is}, so it matches every event that has the field`,
    };
  }
  const sibling = siblingOfKind(path, needed.kinds, schema);
  return {
    severity: 'warning',
    path,
    message:
      `${path}: ${shown} matches ${needed.words}, but ${is}, so it never matches` +
      (sibling === undefined ? '' : `; ${sibling} is ${describeKinds(schema.get(sibling) ?? entry)}`),
    ...(sibling === undefined ? {} : { suggestion: sibling }),
  };
}

/** A field next to `path` holding the given kinds, the one with the closest name. */
function siblingOfKind(path: string, kinds: readonly Kind[], schema: SchemaIndex): string | undefined {
  const dot = path.lastIndexOf('.');
  const parent = dot === -1 ? '' : path.slice(0, dot);
  const siblings = [...schema].filter(
    ([p, entry]) =>
      p !== path &&
      (parent === ''
        ? !p.includes('.')
        : p.startsWith(`${parent}.`) && !p.slice(parent.length + 1).includes('.')) &&
      kinds.some((kind) => leafKinds(entry).has(kind)),
  );
  return nearest(
    path,
    siblings.map(([p]) => p),
  );
}

function enumFindings(field: PatternField, entry: SchemaPath): LintFinding[] {
  const allowed = entry.enumValues.filter((v): v is string => typeof v === 'string');
  if (allowed.length === 0 || allowed.length !== entry.enumValues.length) return [];
  return field.alternatives
    .filter((a): a is string => typeof a === 'string' && !allowed.includes(a))
    .map((value) => {
      const suggestion = nearest(value, allowed);
      return {
        severity: 'warning',
        path: field.path,
        message:
          `${field.path}: ${JSON.stringify(value)} is never its value in okePay events (one of ` +
          `${allowed.join(', ')}), so it never matches${suggestion === undefined ? '' : `; nearest: ${suggestion}`}`,
        ...(suggestion === undefined ? {} : { suggestion }),
      };
    });
}

function eventTypeNotes(field: PatternField, options: LintOptions): LintFinding[] {
  const known = options.knownEventTypes;
  const passedThrough =
    `known okePay event type (${known.join(', ')}); other payment.* types are published under their own ` +
    'name, so this only matches if okePay sends one';
  return field.alternatives.flatMap((alternative): LintFinding[] => {
    if (typeof alternative === 'string') {
      if (known.includes(alternative)) return [];
      const closest = nearest(alternative, known);
      const suggestion =
        closest !== undefined && editDistance(alternative, closest) <= 3 ? closest : undefined;
      return [
        {
          severity: 'note',
          path: field.path,
          message:
            `${field.path}: ${JSON.stringify(alternative)} is not a ${passedThrough}` +
            (suggestion === undefined ? '' : `; did you mean ${suggestion}?`),
          ...(suggestion === undefined ? {} : { suggestion }),
        },
      ];
    }
    const kinds = alternativeKinds(alternative);
    if (
      kinds === undefined ||
      kinds.negated ||
      known.some((type) => alternativesAccept([alternative], type))
    ) {
      return [];
    }
    return [
      {
        severity: 'note',
        path: field.path,
        message: `${field.path}: ${renderJson(alternative)} matches no ${passedThrough}`,
      },
    ];
  });
}

// ---------------------------------------------------------------------------------------------------------
// $or
// ---------------------------------------------------------------------------------------------------------

type OverrideGroup = { override: PatternOverride; choices: string[] };

function groupOverrides(overrides: readonly PatternOverride[]): OverrideGroup[] {
  const groups = new Map<string, OverrideGroup>();
  for (const override of overrides) {
    const key = `${override.kept.location}\u0000${override.dropped.location}`;
    const group = groups.get(key) ?? { override, choices: [] };
    const choice = override.choices.join(' + ');
    if (choice !== '' && !group.choices.includes(choice)) group.choices.push(choice);
    groups.set(key, group);
  }
  return [...groups.values()];
}

function overrideFinding({ override, choices }: OverrideGroup): LintFinding {
  const { path, kept, dropped } = override;
  const where =
    choices.length > 0 ? ` in ${choices.length === 1 ? 'branch' : 'branches'} ${choices.join(', ')}` : '';
  return {
    severity: 'warning',
    path,
    message:
      `${path}: written at ${dropped.location} and again at ${kept.location}; EventBridge keeps only the ` +
      `later one${where} and ignores ${renderJson(dropped.alternatives)} there: write the condition inside ` +
      'each $or alternative instead',
  };
}
