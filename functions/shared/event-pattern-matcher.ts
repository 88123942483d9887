/**
 * Amazon EventBridge event-pattern matcher, written by hand: no npm package implements EventBridge's
 * content-filtering semantics, and the reference engine (aws/event-ruler) is Java.
 *
 * Semantics follow the EventBridge user guide ("Creating event patterns", "Comparison operators",
 * "Arrays in event patterns", "Matching null values and empty strings") and, where the guide is silent,
 * the behaviour of Event Ruler. Decisions taken where neither is explicit are marked "Decision:" below.
 *
 * `matchesEventPattern` assumes a pattern that `validateEventPattern` accepts; malformed fragments never
 * match (fail closed) rather than throw, so one bad rule cannot break event processing.
 */

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
const NUMERIC_LIMIT = 5e9; // documented range for numeric matching: -5.0e9 to +5.0e9 inclusive

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLeaf(value: unknown): value is JsonPrimitive {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Nested event arrays are "crushed": [[a, b], [c]] behaves like [a, b, c]. */
function flatten(values: readonly unknown[]): unknown[] {
  return values.flatMap((v) => (Array.isArray(v) ? flatten(v) : [v]));
}

/** The single `{ operator: argument }` entry of an operator object, or undefined if it has 0 or 2+ keys. */
function onlyEntry(value: JsonObject): [string, unknown] | undefined {
  const entries = Object.entries(value);
  return entries.length === 1 ? entries[0] : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------------------

export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(pattern, event);
}

function matchObject(pattern: JsonObject, value: unknown): boolean {
  // An event array under an object pattern: the array is crushed and ONE element must satisfy every field
  // of the sub-pattern (array-consistent matching, as Event Ruler's rulesForJSONEvent does). An empty array
  // has no fields at all, so it is treated like a missing node (only exists:false can then match).
  if (Array.isArray(value)) {
    const elements = flatten(value);
    if (elements.length === 0) return matchObject(pattern, undefined);
    return elements.some((element) => matchObject(pattern, element));
  }
  const node = isObject(value) ? value : undefined;
  return Object.entries(pattern).every(([key, sub]) => {
    // "$or" followed by an array is the OR primitive: alternatives are sub-patterns for this same level.
    // (Event Ruler keeps "$or" with a non-array value as an ordinary field name, and so do we.)
    if (key === OR_KEY && Array.isArray(sub)) {
      return sub.some((alternative) => isObject(alternative) && matchObject(alternative, value));
    }
    const child = node !== undefined && Object.hasOwn(node, key) ? node[key] : undefined;
    if (Array.isArray(sub)) return matchLeaf(sub, child);
    if (isObject(sub)) return matchObject(sub, child);
    return false;
  });
}

/**
 * The leaf values an event field offers for matching. A missing field, an object (an intermediate node,
 * not a leaf) and an empty array offer none; an array offers each of its primitive elements.
 */
function leafValues(value: unknown): JsonPrimitive[] {
  if (Array.isArray(value)) return flatten(value).filter(isLeaf);
  return isLeaf(value) ? [value] : [];
}

function matchLeaf(alternatives: readonly unknown[], value: unknown): boolean {
  const leaves = leafValues(value);
  return alternatives.some((alternative) => {
    if (!isObject(alternative)) {
      // Exact match is type-sensitive: "5" never equals 5, "" never equals null. Numbers compare by value
      // (the rule compiler adds a numeric-equality matcher for every number, so 300 matches 3.0e2).
      return leaves.some((leaf) => leaf === alternative);
    }
    const entry = onlyEntry(alternative);
    if (entry === undefined) return false;
    const [operator, argument] = entry;
    if (operator === 'exists') {
      // exists only looks at leaf nodes: a field whose value is an object does not "exist" for it.
      if (argument === true) return leaves.length > 0;
      if (argument === false) return leaves.length === 0;
      return false;
    }
    // Every other operator needs a present leaf value, so a missing field never matches — including
    // anything-but, which only ever matches values that are there.
    return leaves.some((leaf) => matchOperator(operator, argument, leaf));
  });
}

function matchOperator(operator: string, argument: unknown, leaf: JsonPrimitive): boolean {
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
      return typeof leaf === 'number' && numericMatches(argument, leaf);
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

/**
 * anything-but matches a present leaf value that the wrapped condition rejects. Decision: the negation is
 * applied per leaf value, so for an event array it matches when ANY element is not excluded (consistent
 * with "an array matches if any element matches"); values of another type (e.g. a number against a string
 * list, or null) are not excluded and therefore match.
 */
function anythingButMatches(argument: unknown, leaf: JsonPrimitive): boolean {
  if (typeof argument === 'string' || typeof argument === 'number') return leaf !== argument;
  if (Array.isArray(argument)) return !argument.includes(leaf);
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

type Comparison = { operator: string; operand: number };

/** Reads `["=", 3]`, `["<", 10]`, `[">", 0, "<=", 5]` into comparisons; undefined when malformed. */
function parseNumeric(argument: unknown): Comparison[] | undefined {
  if (!Array.isArray(argument) || argument.length === 0 || argument.length % 2 !== 0) return undefined;
  const comparisons: Comparison[] = [];
  for (let i = 0; i < argument.length; i += 2) {
    const operator: unknown = argument[i];
    const operand: unknown = argument[i + 1];
    if (typeof operator !== 'string' || typeof operand !== 'number') return undefined;
    comparisons.push({ operator, operand });
  }
  return comparisons;
}

function numericMatches(argument: unknown, n: number): boolean {
  const comparisons = parseNumeric(argument);
  if (comparisons === undefined) return false;
  return comparisons.every(({ operator, operand }) => {
    switch (operator) {
      case '=':
        return n === operand;
      case '<':
        return n < operand;
      case '<=':
        return n <= operand;
      case '>':
        return n > operand;
      case '>=':
        return n >= operand;
      default:
        return false;
    }
  });
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

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function validateObject(pattern: JsonObject, path: string, insideOr: boolean, problems: string[]): void {
  const entries = Object.entries(pattern);
  if (entries.length === 0) problems.push(`${at(path)}: empty objects are not allowed`);
  for (const [key, value] of entries) {
    const childPath = join(path, key);
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
        `${at(childPath)}: must be an array of match values or a nested object, got ${JSON.stringify(value)}`,
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
  for (const { operator, operand } of comparisons) {
    if (!['=', '<', '<=', '>', '>='].includes(operator)) return `unknown numeric operator "${operator}"`;
    if (!Number.isFinite(operand) || Math.abs(operand) > NUMERIC_LIMIT) {
      return `numeric operand ${operand} is outside the supported range -5e9 to 5e9`;
    }
  }
  const [lower, upper] = comparisons;
  if (lower === undefined || upper === undefined) return undefined;
  if (!['>', '>='].includes(lower.operator) || !['<', '<='].includes(upper.operator)) {
    return `a numeric range must be a lower bound (">" or ">=") followed by an upper bound ("<" or "<="), ${shape}`;
  }
  if (lower.operand >= upper.operand) {
    return `numeric range lower bound ${lower.operand} must be less than upper bound ${upper.operand}`;
  }
  return undefined;
}

function anythingButProblem(argument: unknown): string | undefined {
  if (typeof argument === 'string' || typeof argument === 'number') return undefined;
  if (Array.isArray(argument)) {
    if (argument.length === 0) return '"anything-but" list must not be empty';
    const allStrings = argument.every((v) => typeof v === 'string');
    const allNumbers = argument.every((v) => typeof v === 'number');
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
