import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { stringify as stringifyLosslessJson } from 'lossless-json';
import {
  type EventPattern,
  explainEventPattern,
  type PatternExplanation,
} from '../../functions/shared/event-pattern-matcher.ts';
import { exactEventPattern, parseExactJson } from '../../functions/shared/rules/exact-json.ts';
import {
  canonicalLintOptions,
  type LintFinding,
  lintEventPattern,
} from '../../functions/shared/rules/pattern-lint.ts';
import { type RuleDefinition, readRuleFile } from '../../functions/shared/rules/rule-file.ts';
import { parseOptions, UsageError } from './command.ts';

export const summary = 'try a rule file on events and say why they do not match; lint its pattern';
export const usage = `Usage: okepay rules test RULE.json EVENT.json [EVENT.json...] [--json]
       okepay rules lint RULE.json [RULE.json...] [--strict] [--json]

test  Checks the rule file, lints its pattern (printed first), then evaluates the pattern against each
      event with the same matcher as the local bus. For an event it does not match, it says which field
      of the pattern failed and on what value, for every failing field (every branch of an $or).
      Events are EventBridge envelopes as subscribers receive them (see events/samples/); numbers are
      read as written. Exits 0 when the rule is valid, whatever matches; 1 when the rule or an event
      file is invalid.

lint  Checks patterns against the canonical event's JSON Schema (events/schema/): warnings for what can
      never work as written (a path no okePay event has, with the nearest valid one; a numeric filter on
      a string field or a string filter on a number; a source okePay events do not have; a field written
      inside and outside $or; a key with a dot), notes for what is worth a look (an event type okePay
      is not known to send). Exits 1 when a rule file is invalid, or with --strict when there is a
      warning; 0 otherwise.

--json  The same as JSON on stdout.

Examples:
  npx okepay rules test events/rules/large-eur-payments.json events/samples/*.json
  npx okepay rules lint --strict events/rules/*.json`;

export async function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseOptions({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, strict: { type: 'boolean', default: false } },
  });
  const [subcommand, ...files] = positionals;
  if (subcommand === 'test') {
    if (values.strict) throw new UsageError('--strict is an option of `rules lint`');
    const [ruleFile, ...eventFiles] = files;
    if (ruleFile === undefined || eventFiles.length === 0) {
      throw new UsageError('give a rule file and at least one event file');
    }
    return testRule(ruleFile, eventFiles, values.json);
  }
  if (subcommand === 'lint') {
    if (files.length === 0) throw new UsageError('give at least one rule file');
    return lintRules(files, values.strict, values.json);
  }
  throw new UsageError('the subcommands are `test` and `lint`');
}

interface LoadedRule {
  rule: RuleDefinition;
  pattern: EventPattern;
  findings: LintFinding[];
}

function loadRule(file: string): LoadedRule {
  const rule = readRuleFile(file);
  const pattern = exactEventPattern(rule);
  return { rule, pattern, findings: lintEventPattern(pattern, canonicalLintOptions()) };
}

async function testRule(ruleFile: string, eventFiles: readonly string[], json: boolean): Promise<number> {
  const { rule, pattern, findings } = loadRule(ruleFile);
  const results = eventFiles.map((file) => ({ file, ...explainEventPattern(pattern, readEvent(file)) }));
  const matched = results.filter((r) => r.matched).length;
  if (json) {
    console.log(
      stringifyLosslessJson(
        { rule: rule.name, file: ruleFile, lint: findings, events: results, matched, total: results.length },
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(`${rule.name} (${ruleFile})`);
  console.log(
    findings.length === 0 ? 'lint: no findings' : ['lint:', ...findings.map(findingLine)].join('\n'),
  );
  console.log('');
  for (const result of results) {
    console.log(`${result.matched ? 'match   ' : 'no match'}  ${basename(result.file)}`);
    for (const line of explanationLines(result)) console.log(`            ${line}`);
  }
  console.log(`\n${rule.name}: ${matched} of ${results.length} events match`);
  return 0;
}

function readEvent(file: string): unknown {
  try {
    return parseExactJson(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not a JSON event: ${(error as Error).message}`, { cause: error });
  }
}

/** The failures every branch shares, then each `$or` branch's own. */
export function explanationLines(explanation: PatternExplanation): string[] {
  if (explanation.matched) return [];
  const lines = explanation.failures.map((f) => f.message);
  if (explanation.branches.length > 0) {
    lines.push('every $or branch fails:');
    for (const { choices, failures } of explanation.branches) {
      const label = choices.join(' + ');
      if (failures.length === 0) lines.push(`  ${label}: only on the fields above`);
      for (const failure of failures) lines.push(`  ${label}: ${failure.message}`);
    }
  }
  return lines;
}

function findingLine({ severity, message }: LintFinding): string {
  return `  ${severity.padEnd(7)}  ${message}`;
}

async function lintRules(files: readonly string[], strict: boolean, json: boolean): Promise<number> {
  const reports = files.map((file) => {
    try {
      const { rule, findings } = loadRule(file);
      return { file, rule: rule.name, findings };
    } catch (error) {
      return { file, error: (error as Error).message, findings: [] as LintFinding[] };
    }
  });
  const all = reports.flatMap((r) => r.findings);
  const warnings = all.filter((f) => f.severity === 'warning').length;
  const notes = all.length - warnings;
  const invalid = reports.filter((r) => 'error' in r).length;
  if (json) {
    console.log(JSON.stringify({ rules: reports, warnings, notes, invalid }, null, 2));
  } else {
    for (const report of reports) {
      if ('error' in report) console.log(`${report.file}: ${report.error}`);
      else if (report.findings.length === 0) console.log(`${report.file} (${report.rule}): no findings`);
      else console.log([`${report.file} (${report.rule})`, ...report.findings.map(findingLine)].join('\n'));
    }
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    console.log(
      `\n${plural(warnings, 'warning')}, ${plural(notes, 'note')} in ${plural(files.length, 'rule file')}` +
        (invalid > 0 ? `; ${invalid} invalid` : ''),
    );
  }
  return invalid > 0 || (strict && warnings > 0) ? 1 : 0;
}
