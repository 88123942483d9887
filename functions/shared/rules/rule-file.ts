/**
 * Rule files: `{ "name", "description", "eventPattern", "targets" }`, one JSON file per rule. The CDK
 * stack deploys their patterns (with a CloudWatch Logs target each); the local pipeline also runs
 * their local targets (`log`, `file`, `http`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { type EventPattern, validateEventPattern } from '../event-pattern-matcher.ts';

export const DEFAULT_RULES_DIR = join(import.meta.dirname, '..', '..', '..', 'events', 'rules');

const targetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log') }),
  z.object({ type: z.literal('file'), path: z.string().min(1) }),
  z.object({ type: z.literal('http'), url: z.url({ protocol: /^https?$/ }) }),
]);
export type LocalTarget = z.output<typeof targetSchema>;

const ruleFileSchema = z.object({
  name: z
    .string()
    .regex(
      /^[.\-_A-Za-z0-9]{1,64}$/,
      'must be 1-64 characters of letters, digits, ".", "-" or "_" (an EventBridge rule name)',
    ),
  description: z.string().max(512).default(''),
  eventPattern: z.record(z.string(), z.unknown()),
  targets: z.array(targetSchema).default([]),
});

export interface RuleDefinition {
  name: string;
  description: string;
  eventPattern: EventPattern;
  targets: LocalTarget[];
  /** The file it came from. */
  file: string;
}

export class RuleFileError extends Error {
  override readonly name = 'RuleFileError';
  constructor(
    readonly file: string,
    problems: string[],
    options?: ErrorOptions,
  ) {
    super(`Invalid rule file ${file}:\n  - ${problems.join('\n  - ')}`, options);
  }
}

/** Reads and checks one rule file; throws {@link RuleFileError} listing every problem. */
export function readRuleFile(file: string): RuleDefinition {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RuleFileError(file, [`not readable JSON: ${(error as Error).message}`], { cause: error });
  }
  const parsed = ruleFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new RuleFileError(
      file,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`),
    );
  }
  const patternProblems = validateEventPattern(parsed.data.eventPattern);
  if (patternProblems.length > 0)
    throw new RuleFileError(
      file,
      patternProblems.map((p) => `eventPattern ${p}`),
    );
  return { ...parsed.data, eventPattern: parsed.data.eventPattern as EventPattern, file };
}

/** Every `*.json` in the directories, in name order; rule names must be unique across them. */
export function readRuleDirectories(directories: readonly string[]): RuleDefinition[] {
  const rules: RuleDefinition[] = [];
  const seen = new Map<string, string>();
  for (const directory of directories) {
    const files = readdirSync(directory)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => resolve(directory, name));
    for (const file of files) {
      const rule = readRuleFile(file);
      const previous = seen.get(rule.name);
      if (previous)
        throw new RuleFileError(file, [`rule name "${rule.name}" is already used by ${previous}`]);
      seen.set(rule.name, file);
      rules.push(rule);
    }
  }
  return rules;
}
