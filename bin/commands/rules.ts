import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { matchesEventPattern } from '../../functions/shared/event-pattern-matcher.ts';
import { readRuleFile } from '../../functions/shared/rules/rule-file.ts';
import { parseOptions, UsageError } from './command.ts';

export const summary = 'say which events a rule file matches (rules test RULE.json EVENT.json...)';
export const usage = `Usage: okepay rules test RULE.json EVENT.json [EVENT.json...]

Checks the rule file and evaluates its eventPattern against each event, with the same matcher as the
local bus. Events are EventBridge envelopes as subscribers receive them (see events/samples/).
Exits 0 when the rule is valid, whatever matches; 1 when the rule or an event file is invalid.

Example:
  npx okepay rules test events/rules/large-eur-payments.json events/samples/*.json`;

export async function run(argv: string[]): Promise<number> {
  const { positionals } = parseOptions({ args: argv, allowPositionals: true, options: {} });
  const [subcommand, ruleFile, ...eventFiles] = positionals;
  if (subcommand !== 'test') throw new UsageError('the only subcommand is `test`');
  if (!ruleFile || eventFiles.length === 0)
    throw new UsageError('give a rule file and at least one event file');
  const rule = readRuleFile(ruleFile);
  let matched = 0;
  for (const file of eventFiles) {
    let event: unknown;
    try {
      event = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`${file} is not a JSON event: ${(error as Error).message}`);
    }
    const matches = matchesEventPattern(rule.eventPattern, event);
    if (matches) matched += 1;
    console.log(`${matches ? 'match   ' : 'no match'}  ${basename(file)}`);
  }
  console.log(`\n${rule.name}: ${matched} of ${eventFiles.length} events match`);
  return 0;
}
