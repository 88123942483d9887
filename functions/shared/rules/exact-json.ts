/**
 * JSON read with its numbers as written. `JSON.parse` turns 9007199254740993 into ...992 and
 * 0.1000000000000000000001 into 0.1, so a rule could match locally on a number EventBridge would not
 * (decision c in `event-pattern-matcher.ts`). The matcher takes lossless-json's numbers as they are.
 */
import { readFileSync } from 'node:fs';
import { parse as parseLosslessJson } from 'lossless-json';
import type { EventPattern } from '../event-pattern-matcher.ts';
import type { RuleDefinition } from './rule-file.ts';

/** Parses JSON keeping every number's text; a duplicate key keeps its last value, as JSON.parse does. */
export function parseExactJson(text: string): unknown {
  return parseLosslessJson(text, null, { onDuplicateKey: ({ newValue }) => newValue });
}

/**
 * The rule's pattern with its numbers as written. `readRuleFile` has already read and checked the file
 * (with JSON.parse); this reads it once more for the digits.
 */
export function exactEventPattern(rule: RuleDefinition): EventPattern {
  const json = parseExactJson(readFileSync(rule.file, 'utf8'));
  const pattern =
    typeof json === 'object' && json !== null && 'eventPattern' in json ? json.eventPattern : undefined;
  return typeof pattern === 'object' && pattern !== null ? (pattern as EventPattern) : rule.eventPattern;
}
