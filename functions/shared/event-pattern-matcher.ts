/**
 * Amazon EventBridge event-pattern matcher, written by hand: no npm package implements EventBridge's
 * content-filtering semantics, and the reference engine (aws/event-ruler) is Java.
 *
 * Semantics follow the EventBridge user guide ("Creating event patterns", "Comparison operators",
 * "Arrays in event patterns", "Matching null values and empty strings", "Content filtering") and, where
 * the guide is silent, the behaviour of Event Ruler, the engine EventBridge runs. Decisions taken where
 * neither is explicit are marked "Decision:" below.
 *
 * The matcher works as Event Ruler does, because several of its corner cases only make sense in its model:
 * 1. The pattern is compiled into branches, one per combination of `$or` alternatives, each a map from a
 *    field path (the keys joined with ".") to that field's list of match alternatives.
 * 2. The event is flattened into fields: a path, a leaf value, and the element of every array it sits in.
 * 3. A branch matches when each of its paths can be given one event field whose value one of its
 *    alternatives accepts, all the chosen fields agreeing on the element of every array they share
 *    ("array-consistent", Event Ruler's rulesForJSONEvent). An `exists: false` path holds when no field of
 *    that path agrees with the fields chosen for the paths that sort before it.
 *
 * Where this model and a naive one differ, and an independent comparison with Event Ruler found this matcher
 * disagreeing (issue 12), the decisions are (a) exists:false on fields of arrays of objects, (b) `$or`
 * alternatives naming a field also written outside them, (c) numbers a double cannot hold, (d) keys
 * containing a dot; each is explained, with its source, where it is implemented.
 *
 * `matchesEventPattern` assumes a pattern that `validateEventPattern` accepts; malformed fragments never
 * match (fail closed) rather than throw, so one bad rule cannot break event processing.
 * `explainEventPattern` runs the same steps and says, for every field that failed, why.
 *
 * Numbers may be JS numbers or lossless-json `LosslessNumber`s (see `parseExactJson` in
 * `rules/exact-json.ts`): only the latter keep the digits the publisher wrote, which decision (c) needs.
 */
import { isLosslessNumber, stringify as stringifyLosslessJson } from 'lossless-json';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
/** An event pattern: a JSON object whose leaves are arrays of match alternatives. */
export type EventPattern = { [key: string]: JsonValue };

type JsonObject = { [key: string]: unknown };

const OR_KEY = '$or';
const IGNORE_CASE = 'equals-ignore-case';
const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
]);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

/** The single `{ operator: argument }` entry of an operator object, or undefined if it has 0 or 2+ keys. */
function onlyEntry(value: JsonObject): [string, unknown] | undefined {
  const entries = Object.entries(value);
  return entries.length === 1 ? entries[0] : undefined;
}

function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Renders pattern or event JSON for messages, numbers as written. */
export function renderJson(value: unknown): string {
  return stringifyLosslessJson(value) ?? String(value);
}

// ---------------------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------------------

/*
 * Decision (c), numbers a double cannot hold exactly. EventBridge's guide is explicit: "Numeric matching
 * works with values that are JSON numbers. It is limited to values between -5.0e9 and +5.0e9 inclusive,
 * with 15 digits of precision, or six digits to the right of the decimal point."
 * (docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html,
 * "Numeric matching"). So a number takes part in numeric comparisons only inside that domain, and there
 * it is compared exactly, in millionths (as Event Ruler's ComparableNumber did: BigDecimal, six places).
 * Outside it, Event Ruler falls back to the number's text: JsonRuleCompiler compiles a number in a
 * pattern to an exact match on its literal text plus, when it can, a numeric-equality match ("the number
 * might not be representable ... for example an AWS account number, so make that condition survivable"),
 * and ByteMachine.transitionOn matches an event number as text when it cannot make it comparable. Hence:
 * an exact number matches a number of the same value inside the domain, or one written identically.
 */
const MICROS_DIGITS = 6;
const NUMERIC_LIMIT_MICROS = 5_000_000_000n * 10n ** BigInt(MICROS_DIGITS);
const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The text of a JSON number: as written for a lossless-json number, the shortest round-trip form for a JS number. */
function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (isLosslessNumber(value)) return value.value;
  return undefined;
}

function isNumberLike(value: unknown): boolean {
  return numberText(value) !== undefined;
}

/** The value in millionths when EventBridge can compare it numerically; undefined when it cannot. */
function comparableMicros(text: string): bigint | undefined {
  const match = JSON_NUMBER.exec(text);
  if (match === null) return undefined;
  const [, sign, whole = '', fraction = '', exponentText = '0'] = match;
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return 0n;
  const significant = digits.replace(/0+$/, '');
  const exponent = Number(exponentText) - fraction.length + (digits.length - significant.length);
  if (!Number.isSafeInteger(exponent)) return undefined;
  // More than six digits after the decimal point, or 1e10 and above: outside the documented domain.
  if (exponent < -MICROS_DIGITS || significant.length + exponent > 10) return undefined;
  const micros = BigInt(significant) * 10n ** BigInt(exponent + MICROS_DIGITS);
  if (micros > NUMERIC_LIMIT_MICROS) return undefined;
  return sign === '-' ? -micros : micros;
}

/** A number of the event, with its text as written and its comparable value when it has one. */
class EventNumber {
  readonly micros: bigint | undefined;
  constructor(readonly text: string) {
    this.micros = comparableMicros(text);
  }
}

/** Exact-match equality of two numbers: the same value inside the documented domain, or the same text. */
function numbersEqual(patternText: string, number: EventNumber): boolean {
  if (patternText === number.text) return true;
  const micros = comparableMicros(patternText);
  return micros !== undefined && micros === number.micros;
}

// ---------------------------------------------------------------------------------------------------------
// The event, flattened
// ---------------------------------------------------------------------------------------------------------

type Leaf = string | boolean | null | EventNumber;

/** The element a field sits in, for each array around it: a list from the innermost array out. */
interface ArrayElement {
  array: number;
  index: number;
  outer: ArrayElement | undefined;
}

interface EventField {
  value: Leaf;
  /** Where the value is in the event, with array indexes, e.g. `detail.cascade.attempts[2].code`. */
  location: string;
  element: ArrayElement | undefined;
}

interface FlatEvent {
  fields: ReadonlyMap<string, readonly EventField[]>;
  /** Paths at which the event has an object (an intermediate node, which patterns never match). */
  objects: ReadonlySet<string>;
}

function toLeaf(value: unknown): Leaf | undefined {
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  const text = numberText(value);
  return text === undefined ? undefined : new EventNumber(text);
}

/**
 * Flattens the parts of the event the pattern can reach (`wanted`: every dotted prefix of its paths), with
 * an explicit stack so that a deeply nested event cannot overflow the call stack.
 *
 * Decision (d), keys containing a dot: paths are the keys joined with ".", as Event Ruler does, so
 * `{"a.b": "x"}` and `{"a": {"b": "x"}}` are the same field and a pattern written either way matches
 * both. Event Ruler's README documents exactly this ("Caveat: Compiled rules and JSON keys with dots"),
 * adding that it "may change in future version ... and should not be relied upon"; the EventBridge guide
 * says nothing. `okepay rules lint` warns about pattern keys with a dot.
 */
function flattenEvent(event: unknown, wanted: ReadonlySet<string>): FlatEvent {
  const fields = new Map<string, EventField[]>();
  const objects = new Set<string>();
  type Pending = { value: unknown; path: string; location: string; element: ArrayElement | undefined };
  const stack: Pending[] = [];
  const pushMembers = (object: JsonObject, at: Omit<Pending, 'value'>): void => {
    const entries = Object.entries(object);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, value] = entries[i] ?? ['', undefined];
      const path = joinPath(at.path, key);
      if (wanted.has(path)) {
        stack.push({ value, path, location: joinPath(at.location, key), element: at.element });
      }
    }
  };
  if (!isObject(event)) return { fields, objects };
  pushMembers(event, { path: '', location: '', element: undefined });
  let nextArrayId = 0;
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path, location, element } = item;
    if (Array.isArray(value)) {
      // Arrays are "crushed": each element sits at the array's own path, remembering which element it is.
      const array = nextArrayId++;
      for (let index = value.length - 1; index >= 0; index--) {
        const inner = { array, index, outer: element };
        stack.push({ value: value[index], path, location: `${location}[${index}]`, element: inner });
      }
    } else if (isObject(value)) {
      objects.add(path);
      pushMembers(value, { path, location, element });
    } else {
      const leaf = toLeaf(value);
      if (leaf === undefined) continue;
      const list = fields.get(path) ?? [];
      list.push({ value: leaf, location, element });
      fields.set(path, list);
    }
  }
  return { fields, objects };
}

// ---------------------------------------------------------------------------------------------------------
// The pattern, compiled
// ---------------------------------------------------------------------------------------------------------

/** One field of a branch: its path and its list of match alternatives. */
export interface PatternField {
  path: string;
  alternatives: readonly unknown[];
  /** Where it is written in the pattern, e.g. `detail.$or[1].amount.number`. */
  location: string;
  /** Its position among the pattern's fields in document order, for listing them as written. */
  order: number;
}

/** One combination of `$or` alternatives: the fields an event must satisfy together. */
export interface PatternBranch {
  /** The `$or` alternatives taken, by location, e.g. `["detail.$or[1]"]`; empty without `$or`. */
  choices: readonly string[];
  /** Sorted by path, the order in which Event Ruler visits them. */
  fields: readonly PatternField[];
}

/** A path written twice in one branch: Event Ruler keeps the later one (in document order). */
export interface PatternOverride {
  path: string;
  kept: PatternField;
  dropped: PatternField;
  choices: readonly string[];
}

export interface CompiledEventPattern {
  branches: readonly PatternBranch[];
  overrides: readonly PatternOverride[];
  /** Pattern keys containing a dot, with where they are written (decision d). */
  dottedKeys: readonly { key: string; location: string }[];
}

type MutableBranch = { choices: string[]; fields: Map<string, PatternField> };

/** A pattern value that is neither an array nor an object: a field no event satisfies (fail closed). */
const NEVER: readonly unknown[] = Object.freeze([]);

/**
 * Compiles a pattern into branches as Event Ruler's JsonRuleCompiler does. Keys are visited in the
 * object's order (JSON document order, except that JavaScript lists integer-like keys first).
 *
 * Decision (b), a `$or` whose alternatives name a field that is also written outside it: Event Ruler
 * forks a copy of the fields written so far for each alternative and writes each field with a map put,
 * so within a branch the field written later in the document replaces the earlier one
 * (JsonRuleCompiler.parseIntoOrRelationship and writeRules). `{"a": ["1"], "$or": [{"a": ["2"]}, {"b":
 * ["3"]}]}` is therefore `a = 2 OR (a = 1 AND b = 3)`, not `a = 1 AND (a = 2 OR b = 3)`. Event Ruler's
 * README says only the last of duplicate keys counts; aws/event-ruler#22 calls this undefined behaviour,
 * and the option added for it (#212, fail on a path written twice) is off by default. The EventBridge
 * guide says nothing, so we do what the engine does, and `okepay rules lint` warns.
 */
export function compileEventPattern(pattern: EventPattern): CompiledEventPattern {
  const overrides: PatternOverride[] = [];
  const dottedKeys: { key: string; location: string }[] = [];
  let order = 0;
  const write = (branches: MutableBranch[], field: PatternField): void => {
    for (const branch of branches) {
      const previous = branch.fields.get(field.path);
      if (previous !== undefined) {
        overrides.push({ path: field.path, kept: field, dropped: previous, choices: [...branch.choices] });
      }
      branch.fields.set(field.path, field);
    }
  };
  const visit = (object: JsonObject, path: string, location: string, branches: MutableBranch[]): void => {
    for (const [key, value] of Object.entries(object)) {
      const at = joinPath(location, key);
      if (key === OR_KEY && Array.isArray(value)) {
        // "$or" followed by an array is the OR primitive; with any other value it is a field name.
        const before = branches.splice(0);
        value.forEach((alternative, i) => {
          if (!isObject(alternative)) return;
          const choice = `${at}[${i}]`;
          const forked = before.map((b) => ({ choices: [...b.choices, choice], fields: new Map(b.fields) }));
          visit(alternative, path, choice, forked);
          branches.push(...forked);
        });
        continue;
      }
      if (key.includes('.')) dottedKeys.push({ key, location: at });
      const fieldPath = joinPath(path, key);
      if (isObject(value)) visit(value, fieldPath, at, branches);
      else {
        const alternatives = Array.isArray(value) ? value : NEVER;
        write(branches, { path: fieldPath, alternatives, location: at, order: order++ });
      }
    }
  };
  const branches: MutableBranch[] = [{ choices: [], fields: new Map() }];
  visit(pattern, '', '', branches);
  return {
    branches: branches.map((b) => ({
      choices: b.choices,
      fields: [...b.fields.values()].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0)),
    })),
    overrides,
    dottedKeys,
  };
}

/** Every dotted prefix of every path of the pattern: the parts of an event worth flattening. */
function wantedPaths(compiled: CompiledEventPattern): Set<string> {
  const wanted = new Set<string>();
  for (const branch of compiled.branches) {
    for (const { path } of branch.fields) {
      for (let dot = path.indexOf('.'); dot !== -1; dot = path.indexOf('.', dot + 1)) {
        wanted.add(path.slice(0, dot));
      }
      wanted.add(path);
    }
  }
  return wanted;
}

// ---------------------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------------------

export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  const compiled = compileEventPattern(pattern);
  const flat = flattenEvent(event, wantedPaths(compiled));
  return compiled.branches.some((branch) => branchMatches(branch, flat));
}

/** Whether a single value (e.g. the event source "okepay") satisfies one of a field's alternatives. */
export function alternativesAccept(alternatives: readonly unknown[], value: unknown): boolean {
  const leaf = toLeaf(value);
  if (leaf === undefined) return alternatives.some(isExistsFalse);
  return alternatives.some((alternative) => valueMatches(alternative, leaf));
}

function existsArgument(alternative: unknown): unknown {
  const entry = isObject(alternative) ? onlyEntry(alternative) : undefined;
  return entry !== undefined && entry[0] === 'exists' ? entry[1] : undefined;
}

function isExistsFalse(alternative: unknown): boolean {
  return existsArgument(alternative) === false;
}

function isExistsTrue(alternative: unknown): boolean {
  return existsArgument(alternative) === true;
}

/** A field of a branch with the event fields at its path. */
interface Candidates {
  field: PatternField;
  events: readonly EventField[];
  hasExistsFalse: boolean;
  valueAlternatives: readonly unknown[];
}

function candidatesOf(branch: PatternBranch, flat: FlatEvent): Candidates[] {
  return branch.fields.map((field) => ({
    field,
    events: flat.fields.get(field.path) ?? [],
    hasExistsFalse: field.alternatives.some(isExistsFalse),
    valueAlternatives: field.alternatives.filter((a) => !isExistsFalse(a)),
  }));
}

/** The arrays around a field, outermost first. */
function chainOf(element: ArrayElement | undefined): ArrayElement[] {
  const chain: ArrayElement[] = [];
  for (let e = element; e !== undefined; e = e.outer) chain.push(e);
  return chain.reverse();
}

/** Event fields arranged by the array elements they sit in, to find those consistent with a choice fast. */
interface ElementTree {
  fields: EventField[];
  arrays: Map<number, Map<number, ElementTree>>;
}

function elementTree(fields: Iterable<EventField>): ElementTree {
  const root: ElementTree = { fields: [], arrays: new Map() };
  for (const field of fields) {
    let node = root;
    for (const { array, index } of chainOf(field.element)) {
      const elements = node.arrays.get(array) ?? new Map<number, ElementTree>();
      node.arrays.set(array, elements);
      const child = elements.get(index) ?? { fields: [], arrays: new Map() };
      elements.set(index, child);
      node = child;
    }
    node.fields.push(field);
  }
  return root;
}

/**
 * The fields in the chosen element of every array the choice pins, and in any element of the others
 * (Event Ruler's ArrayMembership.checkArrayConsistency).
 */
function* consistentFields(tree: ElementTree, chosen: ReadonlyMap<number, number>): Generator<EventField> {
  const stack = [tree];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    yield* node.fields;
    for (const [array, elements] of node.arrays) {
      const pinned = chosen.get(array);
      if (pinned === undefined) for (const child of elements.values()) stack.push(child);
      else {
        const child = elements.get(pinned);
        if (child !== undefined) stack.push(child);
      }
    }
  }
}

/**
 * The array-consistent search of Event Ruler's ACFinder, over the branch's paths in sorted order: choose,
 * path by path, an event field its alternatives accept and that sits in the elements chosen so far. A
 * choice keeps only the arrays later paths can still meet, and states known to fail are not tried twice,
 * so arrays that do not interact do not multiply the work.
 *
 * Decision (a), `exists: false` on a field inside an array of objects: Event Ruler treats the field as
 * present when any element has it, except elements ruled out by the fields matched before it (in path
 * order): NameState.getNameTransitions(event, membership) only counts fields array-consistent with those.
 * So `{"items": {"test": [{"exists": false}]}}` fails on `{"items": [{"a": 1}, {"test": 1}]}`, while
 * `{"items": {"sku": ["a"], "test": [{"exists": false}]}}` matches `{"items": [{"sku": "a"}, {"sku": "b",
 * "test": 1}]}` ("sku" sorts before "test" and pins element 0). The EventBridge guide only says that
 * exists "works on the presence or absence of a field" and "only works on leaf nodes"; we follow the
 * engine, and `okepay rules lint` notes such patterns.
 */
function branchMatches(branch: PatternBranch, flat: FlatEvent): boolean {
  const fields = candidatesOf(branch, flat).map((c) => {
    const matching = c.events.filter(({ value }) => c.valueAlternatives.some((a) => valueMatches(a, value)));
    const arrays = new Set(c.events.flatMap(({ element }) => chainOf(element).map(({ array }) => array)));
    return {
      ...c,
      anyMatching: matching.length > 0,
      matching: elementTree(matching),
      present: elementTree(c.events),
      arrays,
    };
  });
  if (fields.some((f) => !f.anyMatching && !f.hasExistsFalse)) return false;
  // laterArrays[i]: the arrays around the event fields of the paths after i.
  const laterArrays: ReadonlySet<number>[] = [];
  for (let i = fields.length - 1, after = new Set<number>(); i >= 0; i--) {
    laterArrays[i] = after;
    after = new Set([...after, ...(fields[i]?.arrays ?? [])]);
  }
  const keep = (chosen: ReadonlyMap<number, number>, arrays: ReadonlySet<number>): Map<number, number> =>
    new Map([...chosen].filter(([array]) => arrays.has(array)));
  const failed = new Set<string>();
  const satisfy = (i: number, chosen: ReadonlyMap<number, number>): boolean => {
    const current = fields[i];
    if (current === undefined) return true;
    const state = `${i}|${[...chosen].sort(([a], [b]) => a - b).join(';')}`;
    if (failed.has(state)) return false;
    const later = laterArrays[i] ?? new Set<number>();
    for (const candidate of consistentFields(current.matching, chosen)) {
      const next = keep(chosen, later);
      for (const { array, index } of chainOf(candidate.element)) if (later.has(array)) next.set(array, index);
      if (satisfy(i + 1, next)) return true;
    }
    const absent = () => consistentFields(current.present, chosen).next().done === true;
    if (current.hasExistsFalse && absent() && satisfy(i + 1, keep(chosen, later))) return true;
    failed.add(state);
    return false;
  };
  return satisfy(0, new Map());
}

function valueMatches(alternative: unknown, leaf: Leaf): boolean {
  if (!isObject(alternative)) {
    // Exact match is type-sensitive: "5" never equals 5, "" never equals null.
    const text = numberText(alternative);
    if (text !== undefined) return leaf instanceof EventNumber && numbersEqual(text, leaf);
    return leaf === alternative;
  }
  const entry = onlyEntry(alternative);
  if (entry === undefined) return false;
  const [operator, argument] = entry;
  // exists only looks at leaf values, and every leaf value is one; exists:false is the absence of any.
  if (operator === 'exists') return argument === true;
  return matchOperator(operator, argument, leaf);
}

function matchOperator(operator: string, argument: unknown, leaf: Leaf): boolean {
  switch (operator) {
    case 'prefix':
      return typeof leaf === 'string' && matchAffix(argument, leaf, (s, affix) => s.startsWith(affix));
    case 'suffix':
      return typeof leaf === 'string' && matchAffix(argument, leaf, (s, affix) => s.endsWith(affix));
    case 'equals-ignore-case':
      return (
        typeof leaf === 'string' && typeof argument === 'string' && foldCase(leaf) === foldCase(argument)
      );
    case 'wildcard':
      return typeof leaf === 'string' && typeof argument === 'string' && wildcardMatches(argument, leaf);
    case 'numeric':
      return leaf instanceof EventNumber && numericMatches(argument, leaf);
    case 'cidr':
      return typeof leaf === 'string' && typeof argument === 'string' && cidrContains(argument, leaf);
    case 'anything-but':
      return anythingButMatches(argument, leaf);
    default:
      return false;
  }
}

function foldCase(s: string): string {
  return s.toLowerCase();
}

/** prefix/suffix take either a string or `{ "equals-ignore-case": string }`. */
function matchAffix(argument: unknown, s: string, test: (s: string, affix: string) => boolean): boolean {
  if (typeof argument === 'string') return test(s, argument);
  if (!isObject(argument)) return false;
  const entry = onlyEntry(argument);
  if (entry === undefined || entry[0] !== IGNORE_CASE || typeof entry[1] !== 'string') return false;
  return test(foldCase(s), foldCase(entry[1]));
}

/** Exact equality of a pattern value (string or number) with a leaf, as exact matching defines it. */
function sameValue(value: unknown, leaf: Leaf): boolean {
  const text = numberText(value);
  if (text !== undefined) return leaf instanceof EventNumber && numbersEqual(text, leaf);
  return value === leaf;
}

/**
 * anything-but matches a present leaf value that the wrapped condition rejects. Decision: the negation is
 * applied per leaf value, so for an event array it matches when ANY element is not excluded (consistent
 * with "an array matches if any element matches"); values of another type (e.g. a number against a string
 * list, or null) are not excluded and therefore match.
 */
function anythingButMatches(argument: unknown, leaf: Leaf): boolean {
  if (typeof argument === 'string' || isNumberLike(argument)) return !sameValue(argument, leaf);
  if (Array.isArray(argument)) return !argument.some((value) => sameValue(value, leaf));
  if (!isObject(argument)) return false;
  const entry = onlyEntry(argument);
  if (entry === undefined) return false;
  const [operator, operand] = entry;
  const values = typeof operand === 'string' ? [operand] : Array.isArray(operand) ? operand : undefined;
  if (values === undefined || !values.every((v) => typeof v === 'string')) return false;
  if (typeof leaf !== 'string') return true;
  const excluded = (test: (v: string) => boolean): boolean => !values.some(test);
  switch (operator) {
    case 'prefix':
      return excluded((v) => leaf.startsWith(v));
    case 'suffix':
      return excluded((v) => leaf.endsWith(v));
    case 'equals-ignore-case':
      return excluded((v) => foldCase(v) === foldCase(leaf));
    case 'wildcard':
      return excluded((v) => wildcardMatches(v, leaf));
    default:
      return false;
  }
}

// --- numeric ---------------------------------------------------------------------------------------------

type Comparison = { operator: string; operand: string; micros: bigint | undefined };

/** Reads `["=", 3]`, `["<", 10]`, `[">", 0, "<=", 5]` into comparisons; undefined when malformed. */
function parseNumeric(argument: unknown): Comparison[] | undefined {
  if (!Array.isArray(argument) || argument.length === 0 || argument.length % 2 !== 0) return undefined;
  const comparisons: Comparison[] = [];
  for (let i = 0; i < argument.length; i += 2) {
    const operator: unknown = argument[i];
    const operand = numberText(argument[i + 1]);
    if (typeof operator !== 'string' || operand === undefined) return undefined;
    comparisons.push({ operator, operand, micros: comparableMicros(operand) });
  }
  return comparisons;
}

/** Only numbers inside the documented domain compare (decision c); so must the operands. */
function numericMatches(argument: unknown, number: EventNumber): boolean {
  const n = number.micros;
  const comparisons = parseNumeric(argument);
  if (n === undefined || comparisons === undefined) return false;
  return comparisons.every(({ operator, micros }) => {
    if (micros === undefined) return false;
    switch (operator) {
      case '=':
        return n === micros;
      case '<':
        return n < micros;
      case '<=':
        return n <= micros;
      case '>':
        return n > micros;
      case '>=':
        return n >= micros;
      default:
        return false;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Explaining a non-match
// ---------------------------------------------------------------------------------------------------------

/**
 * Why a field of the pattern failed: `missing` (the event has no value there), `object` (the event has an
 * object there, and patterns only match leaf values), `no-match` (values present, none accepted),
 * `present` (exists:false, but the event has the field), `not-together` (each field matches in some
 * element of an array of objects, but no one element satisfies them all).
 */
export type FieldProblem = 'missing' | 'object' | 'no-match' | 'present' | 'not-together';

export interface FieldFailure {
  path: string;
  problem: FieldProblem;
  /** The field's alternatives, as written in the pattern. */
  pattern: readonly unknown[];
  /** The event's values at the path, rendered as JSON with numbers as written. */
  values: readonly string[];
  /** One line for a person, e.g. `detail.currency: "USD" is not one of ["EUR"]`. */
  message: string;
}

export interface BranchFailures {
  /** The `$or` alternatives of this branch, e.g. `["detail.$or[1]"]`. */
  choices: readonly string[];
  /** The failures of this branch that not every branch shares. */
  failures: readonly FieldFailure[];
}

export interface PatternExplanation {
  matched: boolean;
  /** Failures shared by every branch (all of them, for a pattern without `$or`). */
  failures: readonly FieldFailure[];
  /** With `$or`: for each branch, its own further failures. Empty when the pattern matched or has no `$or`. */
  branches: readonly BranchFailures[];
}

/**
 * Evaluates the pattern as `matchesEventPattern` does and, when it does not match, lists every failing
 * field of every branch, with the value it failed on.
 */
export function explainEventPattern(pattern: EventPattern, event: unknown): PatternExplanation {
  const compiled = compileEventPattern(pattern);
  const flat = flattenEvent(event, wantedPaths(compiled));
  if (compiled.branches.some((branch) => branchMatches(branch, flat))) {
    return { matched: true, failures: [], branches: [] };
  }
  const perBranch = compiled.branches.map((branch) => branchFailures(branch, flat));
  const sameFailure = (a: FieldFailure, b: FieldFailure): boolean =>
    a.path === b.path && a.pattern === b.pattern && a.problem === b.problem && a.message === b.message;
  const [first = [], ...rest] = perBranch;
  const shared = first.filter((failure) => rest.every((other) => other.some((f) => sameFailure(f, failure))));
  if (compiled.branches.length <= 1) return { matched: false, failures: shared, branches: [] };
  return {
    matched: false,
    failures: shared,
    branches: compiled.branches.map((branch, i) => ({
      choices: branch.choices,
      failures: (perBranch[i] ?? []).filter((f) => !shared.some((s) => sameFailure(s, f))),
    })),
  };
}

/** The failures of a branch known not to match: each field on its own, then array consistency. */
function branchFailures(branch: PatternBranch, flat: FlatEvent): FieldFailure[] {
  const fields = candidatesOf(branch, flat);
  // Checked in path order (as matched), listed in the order the pattern writes them.
  const failures = fields
    .filter(({ events, hasExistsFalse, valueAlternatives }) => {
      const accepted = events.some(({ value }) => valueAlternatives.some((a) => valueMatches(a, value)));
      return !accepted && !(hasExistsFalse && events.length === 0);
    })
    .sort((a, b) => a.field.order - b.field.order)
    .map(({ field, events, valueAlternatives }): FieldFailure => {
      const values = events.map(({ value }) => renderLeaf(value));
      const problem: FieldProblem =
        events.length === 0
          ? flat.objects.has(field.path)
            ? 'object'
            : 'missing'
          : valueAlternatives.length === 0
            ? 'present'
            : 'no-match';
      const locations = events.map(({ location }) => location).filter((l) => l !== field.path);
      const message = `${field.path}: ${describe(problem, field.alternatives, values, locations)}`;
      return { path: field.path, problem, pattern: field.alternatives, values, message };
    });
  if (failures.length > 0) return failures;
  // Every field is satisfied on its own, so the branch failed on array consistency.
  const inArrays = fields.filter(({ events }) => events.some(({ element }) => element !== undefined));
  const paths = inArrays.map(({ field }) => field.path);
  const array = commonPath(paths);
  const listed = paths.length > 1 ? `${paths.slice(0, -1).join(', ')} and ${paths.at(-1)}` : paths.join('');
  return [
    {
      path: array,
      problem: 'not-together',
      pattern: [],
      values: [],
      message:
        `${array}: ${listed} each match in some element, but no single element matches them all ` +
        '(EventBridge matches an array of objects element by element)',
    },
  ];
}

function describe(
  problem: FieldProblem,
  alternatives: readonly unknown[],
  values: readonly string[],
  locations: readonly string[],
): string {
  const pattern = renderJson(alternatives);
  const shown = values.join(', ');
  switch (problem) {
    case 'missing':
      return alternatives.length > 0 && alternatives.every(isExistsTrue)
        ? 'exists:true, but the event does not have it'
        : `the event does not have this field (pattern ${pattern})`;
    case 'object':
      return `the event has an object here, and patterns only match values (pattern ${pattern})`;
    case 'present':
      return `exists:false, but the event has it${locations.length > 0 ? ` (${locations.join(', ')})` : ''}`;
    case 'no-match': {
      const one = values.length === 1;
      if (alternatives.every((a) => !isObject(a))) {
        return one ? `${shown} is not one of ${pattern}` : `none of ${shown} is one of ${pattern}`;
      }
      const [only] = alternatives;
      if (alternatives.length === 1) {
        return `${renderJson(only)} did not match ${one ? shown : `any of ${shown}`}`;
      }
      return `none of ${pattern} matched ${one ? shown : `any of ${shown}`}`;
    }
    case 'not-together':
      return 'no one array element satisfies these fields together';
  }
}

function renderLeaf(leaf: Leaf): string {
  return leaf instanceof EventNumber ? leaf.text : JSON.stringify(leaf);
}

/** The longest dotted prefix the paths share, e.g. `detail.employees` for its firstName and lastName. */
function commonPath(paths: readonly string[]): string {
  const [first, ...rest] = paths.map((p) => p.split('.'));
  if (first === undefined) return '';
  let length = first.length;
  for (const segments of rest) {
    let same = 0;
    while (same < Math.min(length, segments.length) && segments[same] === first[same]) same++;
    length = same;
  }
  return first.slice(0, length).join('.');
}

// --- wildcard --------------------------------------------------------------------------------------------

/**
 * Splits a wildcard pattern into the literal segments between unescaped `*`s. `\*` is a literal star and
 * `\\` a literal backslash; any other escape, a trailing backslash, or two consecutive wildcards is an
 * error (Event Ruler rejects them too, to bound matching cost).
 */
function parseWildcard(pattern: string): { segments: string[] } | { error: string } {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\') return { error: `invalid escape at position ${i}` };
      current += next;
      i++;
    } else if (c === '*') {
      if (pattern[i + 1] === '*') return { error: `consecutive wildcard characters at position ${i}` };
      segments.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  segments.push(current);
  return { segments };
}

/**
 * Glob match without regular expressions: the first segment must be a prefix, the last a suffix, and the
 * middle ones must appear in order in between. Taking the leftmost occurrence of each middle segment is
 * always safe, so this is linear-ish and immune to catastrophic backtracking.
 */
function wildcardMatches(pattern: string, s: string): boolean {
  const parsed = parseWildcard(pattern);
  if ('error' in parsed) return false;
  const { segments } = parsed;
  const first = segments[0] ?? '';
  if (segments.length === 1) return s === first;
  const last = segments[segments.length - 1] ?? '';
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  const end = s.length - last.length;
  let position = first.length;
  for (const middle of segments.slice(1, -1)) {
    const found = s.indexOf(middle, position);
    if (found === -1 || found + middle.length > end) return false;
    position = found + middle.length;
  }
  return true;
}

// --- cidr ------------------------------------------------------------------------------------------------

type IpAddress = { bits: 32 | 128; value: bigint };

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(s: string): bigint | undefined {
  let text = s;
  // An embedded IPv4 tail (e.g. ::ffff:10.0.0.1) is rewritten as the two 16-bit groups it stands for.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string | undefined): string[] => (half ? half.split(':') : []);
  const head = groupsOf(halves[0]);
  const rest = groupsOf(halves[1]);
  // "::" stands for one or more zero groups; without it there must be exactly eight groups.
  const zeros = 8 - head.length - rest.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return undefined;
  const groups = [...head, ...new Array<string>(halves.length === 2 ? zeros : 0).fill('0'), ...rest];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function parseIp(s: string): IpAddress | undefined {
  if (s.includes(':')) {
    const value = parseIpv6(s);
    return value === undefined ? undefined : { bits: 128, value };
  }
  const value = parseIpv4(s);
  return value === undefined ? undefined : { bits: 32, value };
}

function parseCidr(cidr: string): { network: IpAddress; prefixLength: number } | { error: string } {
  const [address, length, ...extra] = cidr.split('/');
  if (address === undefined || length === undefined || extra.length > 0) {
    return { error: `"${cidr}" must be an address and prefix length like "10.0.0.0/24"` };
  }
  const network = parseIp(address);
  if (network === undefined) return { error: `"${address}" is not a valid IPv4 or IPv6 address` };
  if (!/^\d{1,3}$/.test(length) || Number(length) > network.bits) {
    return { error: `prefix length "${length}" must be an integer from 0 to ${network.bits}` };
  }
  return { network, prefixLength: Number(length) };
}

/**
 * Decision: standard CIDR semantics — host bits of the rule's address are ignored, so "10.0.0.5/24"
 * covers 10.0.0.0–10.0.0.255. Addresses only match blocks of their own family (IPv4 vs IPv6).
 */
function cidrContains(cidr: string, ip: string): boolean {
  const block = parseCidr(cidr);
  const address = parseIp(ip);
  if ('error' in block || address === undefined || address.bits !== block.network.bits) return false;
  const hostBits = BigInt(address.bits - block.prefixLength);
  return address.value >> hostBits === block.network.value >> hostBits;
}

// ---------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------

/** Returns human-readable problems with a pattern; an empty array means the pattern is valid. */
export function validateEventPattern(pattern: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(pattern)) {
    problems.push('pattern must be a JSON object');
    return problems;
  }
  validateObject(pattern, '', false, problems);
  return problems;
}

function at(path: string): string {
  return path === '' ? 'pattern' : `"${path}"`;
}

function validateObject(pattern: JsonObject, path: string, insideOr: boolean, problems: string[]): void {
  const entries = Object.entries(pattern);
  if (entries.length === 0) problems.push(`${at(path)}: empty objects are not allowed`);
  for (const [key, value] of entries) {
    const childPath = joinPath(path, key);
    if (key === OR_KEY && Array.isArray(value)) {
      validateOr(value, childPath, problems);
    } else if (insideOr && OPERATORS.has(key)) {
      // Inside $or a field named like an operator is almost certainly a misplaced operator.
      problems.push(
        `${at(childPath)}: "${key}" is an operator and cannot be used as a field name inside $or`,
      );
    } else if (Array.isArray(value)) {
      validateLeaf(value, childPath, problems);
    } else if (isObject(value)) {
      validateObject(value, childPath, insideOr, problems);
    } else {
      problems.push(
        `${at(childPath)}: must be an array of match values or a nested object, got ${renderJson(value)}`,
      );
    }
  }
}

function validateOr(alternatives: readonly unknown[], path: string, problems: string[]): void {
  if (alternatives.length < 2) {
    problems.push(`${at(path)}: $or needs an array of at least two sub-patterns`);
  }
  alternatives.forEach((alternative, i) => {
    if (isObject(alternative)) validateObject(alternative, `${path}[${i}]`, true, problems);
    else problems.push(`${at(`${path}[${i}]`)}: each $or alternative must be a JSON object`);
  });
}

function isLeaf(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || isNumberLike(value);
}

function validateLeaf(alternatives: readonly unknown[], path: string, problems: string[]): void {
  if (alternatives.length === 0) problems.push(`${at(path)}: empty arrays are not allowed`);
  alternatives.forEach((alternative, i) => {
    const where = at(`${path}[${i}]`);
    if (isLeaf(alternative)) return;
    if (!isObject(alternative)) {
      problems.push(`${where}: match values must be strings, numbers, booleans, null or operator objects`);
      return;
    }
    const keys = Object.keys(alternative);
    const entry = onlyEntry(alternative);
    if (entry === undefined) {
      problems.push(`${where}: an operator object must have exactly one key, got [${keys.join(', ')}]`);
      return;
    }
    const [operator, argument] = entry;
    const problem = operatorProblem(operator, argument);
    if (problem !== undefined) problems.push(`${where}: ${problem}`);
  });
}

function operatorProblem(operator: string, argument: unknown): string | undefined {
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return affixProblem(operator, argument);
    case 'equals-ignore-case':
      return typeof argument === 'string' ? undefined : '"equals-ignore-case" must be a string';
    case 'wildcard':
      return typeof argument === 'string' ? wildcardProblem(argument) : '"wildcard" must be a string';
    case 'numeric':
      return numericProblem(argument);
    case 'exists':
      return typeof argument === 'boolean' ? undefined : '"exists" must be true or false';
    case 'cidr': {
      if (typeof argument !== 'string') return '"cidr" must be a string like "10.0.0.0/24"';
      const parsed = parseCidr(argument);
      return 'error' in parsed ? `"cidr" ${parsed.error}` : undefined;
    }
    case 'anything-but':
      return anythingButProblem(argument);
    default:
      return `unknown operator "${operator}"`;
  }
}

function affixProblem(operator: string, argument: unknown): string | undefined {
  if (typeof argument === 'string') return undefined;
  const entry = isObject(argument) ? onlyEntry(argument) : undefined;
  if (entry !== undefined && entry[0] === IGNORE_CASE && typeof entry[1] === 'string') return undefined;
  return `"${operator}" must be a string or {"equals-ignore-case": string}`;
}

function wildcardProblem(pattern: string): string | undefined {
  const parsed = parseWildcard(pattern);
  return 'error' in parsed ? `"wildcard" "${pattern}": ${parsed.error}` : undefined;
}

function numericProblem(argument: unknown): string | undefined {
  const shape = 'e.g. ["=", 3], ["<", 10] or [">", 0, "<=", 5]';
  if (!Array.isArray(argument) || (argument.length !== 2 && argument.length !== 4)) {
    return `"numeric" must be an array of one comparison or a range, ${shape}`;
  }
  const comparisons = parseNumeric(argument);
  if (comparisons === undefined) return `"numeric" must alternate operator strings and numbers, ${shape}`;
  for (const { operator, operand, micros } of comparisons) {
    if (!['=', '<', '<=', '>', '>='].includes(operator)) return `unknown numeric operator "${operator}"`;
    // The documented domain of numeric matching (decision c): EventBridge refuses operands outside it.
    if (micros === undefined) {
      const value = Number(operand);
      return Number.isFinite(value) && Math.abs(value) <= 5e9
        ? `numeric operand ${operand} has more than six digits after the decimal point, the precision of EventBridge numeric matching`
        : `numeric operand ${operand} is outside the supported range -5e9 to 5e9`;
    }
  }
  const [lower, upper] = comparisons;
  if (lower === undefined || upper === undefined) return undefined;
  if (!['>', '>='].includes(lower.operator) || !['<', '<='].includes(upper.operator)) {
    return `a numeric range must be a lower bound (">" or ">=") followed by an upper bound ("<" or "<="), ${shape}`;
  }
  if ((lower.micros ?? 0n) >= (upper.micros ?? 0n)) {
    return `numeric range lower bound ${lower.operand} must be less than upper bound ${upper.operand}`;
  }
  return undefined;
}

function anythingButProblem(argument: unknown): string | undefined {
  if (typeof argument === 'string' || isNumberLike(argument)) return undefined;
  if (Array.isArray(argument)) {
    if (argument.length === 0) return '"anything-but" list must not be empty';
    const allStrings = argument.every((v) => typeof v === 'string');
    const allNumbers = argument.every(isNumberLike);
    return allStrings || allNumbers
      ? undefined
      : '"anything-but" list must contain only strings or only numbers';
  }
  if (!isObject(argument)) {
    return '"anything-but" must be a string, a number, a list of either, or an object like {"prefix": "x"}';
  }
  const entry = onlyEntry(argument);
  const supported = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];
  if (entry === undefined || !supported.includes(entry[0])) {
    return `"anything-but" object must have exactly one of the keys ${supported.join(', ')}`;
  }
  const [operator, operand] = entry;
  const values = typeof operand === 'string' ? [operand] : operand;
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) {
    return `"anything-but" "${operator}" must be a string or a non-empty list of strings`;
  }
  if ((operator === 'prefix' || operator === 'suffix') && values.includes('')) {
    return `"anything-but" "${operator}" must not be empty`;
  }
  if (operator === 'wildcard') {
    return values.map((v) => wildcardProblem(v)).find((p) => p !== undefined);
  }
  return undefined;
}
