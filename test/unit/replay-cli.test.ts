import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../bin/commands/command.ts';
import { resumeCommand } from '../../bin/commands/replay.ts';
import { resolveTarget, TargetError } from '../../bin/commands/targets.ts';
import {
  createProgressReporter,
  formatDuration,
  formatTable,
  progressLine,
} from '../../functions/replay/terminal.ts';

describe('resolveTarget', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'okepay-target-'));

  it.each([
    [{}, /say where: --local .* or --stack NAME/],
    [{ local: true, stack: 'okepay' }, /either --local or --stack NAME, not both/],
    [{ local: true, region: 'eu-west-1' }, /--region and --profile apply to --stack/],
    [{ stack: 'okepay', 'data-dir': '/tmp' }, /--data-dir applies to --local/],
  ])('refuses %j as a usage error', async (values, message) => {
    const error = await resolveTarget(values, {}, '/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });

  it('says how to start the local pipeline when its endpoints file is missing', async () => {
    const dir = dataDir();
    await expect(resolveTarget({ local: true, 'data-dir': dir }, {}, '/')).rejects.toThrow(
      /No local pipeline found: .*endpoints\.json is missing\. Start it with `npm start`/,
    );
  });

  it('says the local pipeline is not running when its process is gone', async () => {
    const dir = dataDir();
    const endpoints = {
      region: 'us-east-1',
      dynamodb: 'http://127.0.0.1:1',
      sqs: 'http://127.0.0.1:2',
      eventbridge: 'http://127.0.0.1:3',
      tableName: 't',
      queueUrl: 'q',
      queueArn: 'qa',
      deadLetterQueueUrl: 'd',
      deadLetterQueueArn: 'da',
      eventBusName: 'b',
      eventSource: 'okepay',
      pid: 2_147_483_646,
      startedAt: '2026-05-10T12:00:00.000Z',
    };
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify(endpoints));
    const error = await resolveTarget({ local: true }, { OKEPAY_DATA_DIR: dir }, '/').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toMatch(
      /\(pid 2147483646, started 2026-05-10T12:00:00.000Z\) is not running/,
    );
  });

  it('reads a running pipeline from the endpoints file', async () => {
    const dir = dataDir();
    writeFileSync(
      join(dir, 'endpoints.json'),
      JSON.stringify({
        region: 'us-east-1',
        dynamodb: 'http://127.0.0.1:1',
        sqs: 'http://127.0.0.1:2',
        eventbridge: 'http://127.0.0.1:3',
        tableName: 'okepay-events',
        queueUrl: 'http://127.0.0.1:2/000000000000/q',
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
        deadLetterQueueUrl: 'http://127.0.0.1:2/000000000000/dlq',
        deadLetterQueueArn: 'arn:aws:sqs:us-east-1:000000000000:dlq',
        eventBusName: 'okepay',
        eventSource: 'okepay',
        pid: process.pid,
      }),
    );
    const target = await resolveTarget({ local: true, 'data-dir': dir }, {}, '/');
    try {
      expect(target).toMatchObject({ kind: 'local', tableName: 'okepay-events', eventBusName: 'okepay' });
      expect(await target.dynamoDb.config.endpoint?.()).toMatchObject({ hostname: '127.0.0.1', port: 1 });
    } finally {
      target.destroy();
    }
  });
});

describe('resumeCommand', () => {
  it.each([
    [{ local: true }, 'npx okepay replay --local --resume rp-1'],
    [
      { local: true, 'data-dir': '/tmp/d', rate: '50' },
      'npx okepay replay --local --data-dir /tmp/d --rate 50 --resume rp-1',
    ],
    [
      { stack: 'okepay', region: 'eu-west-1', profile: 'ops' },
      'npx okepay replay --stack okepay --region eu-west-1 --profile ops --resume rp-1',
    ],
  ])('repeats the target of %j', (values, command) => {
    expect(resumeCommand(values, 'rp-1')).toBe(command);
  });
});

describe('progress output', () => {
  const state = { done: 380, total: 1000, failed: 2, startedAt: 0, now: 4_000 };

  it('draws count, rate and ETA in one line', () => {
    expect(progressLine(state)).toBe(
      '[#########...............]   38%  380/1,000  95 ev/s  ETA 0:07  2 failed',
    );
  });

  it('redraws in place on a terminal, at most every 100 ms', () => {
    const written: string[] = [];
    const reporter = createProgressReporter({ isTTY: true, write: (text) => written.push(text) });
    reporter.update(state);
    reporter.update({ ...state, done: 390, now: 4_050 });
    reporter.update({ ...state, done: 400, now: 4_100 });
    reporter.end();
    expect(written).toHaveLength(3);
    expect(written[0]?.startsWith('\r\x1b[2K[')).toBe(true);
    expect(written[2]).toBe('\r\x1b[2K');
  });

  it('prints a plain line every 5 s when not a terminal', () => {
    const written: string[] = [];
    const reporter = createProgressReporter({ isTTY: false, write: (text) => written.push(text) });
    for (let now = 0; now <= 12_000; now += 500) reporter.update({ ...state, now: now + 1 });
    expect(written).toHaveLength(2);
    expect(written.every((line) => line.endsWith('\n') && !line.includes('\x1b'))).toBe(true);
  });

  it.each([
    [0, '0:00'],
    [59_600, '1:00'],
    [3_723_000, '1:02:03'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('pads table columns to the widest cell', () => {
    expect(formatTable(['A', 'BB'], [['xxx', 'y']])).toBe('A    BB\nxxx  y');
  });
});
