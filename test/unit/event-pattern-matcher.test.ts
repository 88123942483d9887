import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compileEventPattern,
  type EventPattern,
  type JsonValue,
  matchesEventPattern,
  validateEventPattern,
} from '../../functions/shared/event-pattern-matcher.ts';
import { parseExactJson } from '../../functions/shared/rules/exact-json.ts';

const samplesDir = join(import.meta.dirname, '../../events/samples');

// Most cases below are adapted from the examples in the EventBridge user guide ("Creating event patterns",
// "Comparison operators", "Arrays in event patterns", "Matching null values and empty strings") and the
// Event Ruler README; the rest pin down edge cases and the decisions documented in the matcher.

type Detail = Record<string, unknown>;

/** A full EventBridge envelope as delivered to targets, with the given detail and top-level overrides. */
function envelope(detail: Detail = {}, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '111122223333',
    time: '2017-12-22T18:43:48Z',
    region: 'us-west-1',
    resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
    detail,
    ...overrides,
  };
}

/** Marks a detail field as absent from the event (as opposed to present with some value). */
const ABSENT = Symbol('absent');

/** Matches `{ detail: { field: rule } }` against an event whose detail.field is `value` (or absent). */
function fieldMatches(rule: JsonValue[], value: unknown): boolean {
  const detail = value === ABSENT ? {} : { field: value };
  return matchesEventPattern({ detail: { field: rule } }, envelope(detail));
}

type FieldCase = { name: string; rule: JsonValue[]; value: unknown; expected: boolean };

describe('event structure', () => {
  const terminated: EventPattern = {
    source: ['aws.ec2'],
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['terminated'] },
  };

  it('matches the documented EC2 instance-termination pattern', () => {
    expect(matchesEventPattern(terminated, envelope({ 'instance-id': 'i-1', state: 'terminated' }))).toBe(
      true,
    );
  });

  it('requires every field named in the pattern to match (fields are ANDed)', () => {
    expect(matchesEventPattern(terminated, envelope({ state: 'running' }))).toBe(false);
    expect(matchesEventPattern(terminated, envelope({ state: 'terminated' }, { source: 'aws.s3' }))).toBe(
      false,
    );
  });

  it('ignores event fields the pattern does not mention', () => {
    const event = envelope({ state: 'terminated', extra: { deeply: ['nested'] } }, { unknownTopLevel: 1 });
    expect(matchesEventPattern(terminated, event)).toBe(true);
  });

  it('does not match when a field named in the pattern is missing', () => {
    expect(matchesEventPattern(terminated, envelope({ 'instance-id': 'i-1' }))).toBe(false);
  });

  it('requires the field at the same nesting level as in the pattern', () => {
    expect(matchesEventPattern({ state: ['terminated'] }, envelope({ state: 'terminated' }))).toBe(false);
    expect(matchesEventPattern({ detail: { state: ['terminated'] } }, { state: 'terminated' })).toBe(false);
  });

  it.each([
    { source: 'aws.ec2', expected: true },
    { source: 'aws.fargate', expected: true },
    { source: 'aws.s3', expected: false },
  ])('treats the values of a field as alternatives: source $source -> $expected', ({ source, expected }) => {
    expect(matchesEventPattern({ source: ['aws.ec2', 'aws.fargate'] }, envelope({}, { source }))).toBe(
      expected,
    );
  });

  it('matches nested values at several levels (documented Macie alert example)', () => {
    const pattern: EventPattern = {
      source: ['aws.macie'],
      'detail-type': ['Macie Alert'],
      detail: { 'risk-score': [80], trigger: { risk: [8] } },
    };
    const alert = (risk: number) =>
      envelope(
        { 'notification-type': 'ALERT_CREATED', 'risk-score': 80, trigger: { 'alert-type': 'basic', risk } },
        { source: 'aws.macie', 'detail-type': 'Macie Alert' },
      );
    expect(matchesEventPattern(pattern, alert(8))).toBe(true);
    expect(matchesEventPattern(pattern, alert(9))).toBe(false);
  });

  it('does not match an event that is not an object', () => {
    expect(matchesEventPattern({ source: ['aws.ec2'] }, 'aws.ec2')).toBe(false);
    expect(matchesEventPattern({ source: ['aws.ec2'] }, null)).toBe(false);
  });
});

describe('exact values', () => {
  it.each<FieldCase>([
    { name: 'matches an identical string', rule: ['Alice'], value: 'Alice', expected: true },
    { name: 'compares strings case-sensitively', rule: ['Alice'], value: 'alice', expected: false },
    { name: 'does not trim or normalise strings', rule: ['Alice'], value: 'Alice ', expected: false },
    { name: 'matches an equal number', rule: [80], value: 80, expected: true },
    { name: 'compares numbers by value (3.0e2 equals 300)', rule: [300], value: 3.0e2, expected: true },
    { name: 'does not match a number against its string form', rule: [80], value: '80', expected: false },
    { name: 'does not match a string against a number', rule: ['80'], value: 80, expected: false },
    { name: 'matches true', rule: [true], value: true, expected: true },
    { name: 'does not match false against true', rule: [true], value: false, expected: false },
    { name: 'does not match the string "true" against true', rule: [true], value: 'true', expected: false },
    { name: 'matches null', rule: [null], value: null, expected: true },
    { name: 'does not match null against an empty string', rule: [null], value: '', expected: false },
    { name: 'matches an empty string', rule: [''], value: '', expected: true },
    { name: 'does not match an empty string against null', rule: [''], value: null, expected: false },
    { name: 'does not match null against a missing field', rule: [null], value: ABSENT, expected: false },
    { name: 'does not match a missing field', rule: ['Alice'], value: ABSENT, expected: false },
    {
      name: 'does not match an object (not a leaf)',
      rule: ['Alice'],
      value: { name: 'Alice' },
      expected: false,
    },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });

  it('matches null and empty-string fields (documented auto scaling example)', () => {
    const event = envelope(
      { eventVersion: '', responseElements: null },
      { source: 'aws.autoscaling', 'detail-type': 'EC2 Instance Launch Successful', resources: [] },
    );
    expect(matchesEventPattern({ detail: { eventVersion: [''] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { responseElements: [null] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { responseElements: [''] } }, event)).toBe(false);
  });
});

describe('arrays in events', () => {
  const instance = (account: string) => `arn:aws:ec2:us-east-1:${account}:instance/i-b188560f`;
  const resourcesPattern: EventPattern = {
    resources: [instance('123456789012'), instance('111122223333'), instance('444455556666')],
  };

  it('matches when the pattern values and the event array intersect', () => {
    const resources = [
      'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x',
      instance('123456789012'),
    ];
    expect(matchesEventPattern(resourcesPattern, envelope({}, { resources }))).toBe(true);
  });

  it('does not match when the pattern values and the event array are disjoint', () => {
    const resources = [instance('999999999999'), 'arn:aws:s3:::bucket'];
    expect(matchesEventPattern(resourcesPattern, envelope({}, { resources }))).toBe(false);
  });

  it.each<FieldCase>([
    {
      name: 'applies operators to each element',
      rule: [{ prefix: 'eu-' }],
      value: ['us-1', 'eu-1'],
      expected: true,
    },
    {
      name: 'fails when no element satisfies the operator',
      rule: [{ prefix: 'eu-' }],
      value: ['us-1'],
      expected: false,
    },
    { name: 'flattens nested arrays', rule: ['b'], value: [['a'], ['b']], expected: true },
    { name: 'matches nothing in an empty array', rule: ['a'], value: [], expected: false },
    { name: 'ignores objects inside a leaf array', rule: ['x'], value: [{ a: 'x' }], expected: false },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });

  const employees = [
    { firstName: 'John', lastName: 'Doe' },
    { firstName: 'Anna', lastName: 'Smith' },
    { firstName: 'Peter', lastName: 'Jones' },
  ];

  it('matches an object pattern against any element of an array of objects', () => {
    expect(matchesEventPattern({ employees: { firstName: ['Anna'] } }, { employees })).toBe(true);
    expect(matchesEventPattern({ employees: { firstName: ['Zoe'] } }, { employees })).toBe(false);
  });

  it('requires all fields of an object pattern to match within the same array element', () => {
    expect(
      matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, { employees }),
    ).toBe(true);
    expect(
      matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, { employees }),
    ).toBe(false);
  });

  it('treats an empty array under an object pattern as a missing node', () => {
    const noTest: EventPattern = { detail: { items: { test: [{ exists: false }] } } };
    expect(matchesEventPattern(noTest, envelope({ items: [] }))).toBe(true);
    expect(matchesEventPattern({ detail: { items: { sku: ['a'] } } }, envelope({ items: [] }))).toBe(false);
  });

  it('looks through multi-level arrays of objects', () => {
    const nested = { employees: [[employees[0], employees[1]], [employees[2]]] };
    expect(matchesEventPattern({ employees: { lastName: ['Jones'] } }, nested)).toBe(true);
  });
});

describe('prefix', () => {
  it.each<FieldCase>([
    {
      name: 'matches a prefix at the start of the string',
      rule: [{ prefix: 'us-' }],
      value: 'us-east-1',
      expected: true,
    },
    {
      name: 'matches a prefix only at the start of the string',
      rule: [{ prefix: 'us-' }],
      value: 'aus-1',
      expected: false,
    },
    { name: 'rejects a different prefix', rule: [{ prefix: 'us-' }], value: 'eu-west-1', expected: false },
    {
      name: 'matches the whole string as its own prefix',
      rule: [{ prefix: 'us-' }],
      value: 'us-',
      expected: true,
    },
    {
      name: 'compares the prefix case-sensitively',
      rule: [{ prefix: 'EventB' }],
      value: 'eventbridge',
      expected: false,
    },
    { name: 'only applies to strings', rule: [{ prefix: '12' }], value: 123, expected: false },
    {
      name: 'ignores case with equals-ignore-case',
      rule: [{ prefix: { 'equals-ignore-case': 'EventB' } }],
      value: 'EVENTBRIDGE',
      expected: true,
    },
    {
      name: 'still anchors an ignore-case prefix at the start',
      rule: [{ prefix: { 'equals-ignore-case': 'eventb' } }],
      value: 'MyEventBridge',
      expected: false,
    },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });

  it('matches a time prefix on the envelope (documented example)', () => {
    const pattern: EventPattern = { time: [{ prefix: '2017-10-02' }] };
    expect(matchesEventPattern(pattern, envelope({}, { time: '2017-10-02T18:43:48Z' }))).toBe(true);
    expect(matchesEventPattern(pattern, envelope({}, { time: '2017-10-03T18:43:48Z' }))).toBe(false);
  });

  it('matches auto scaling events from European regions (documented example)', () => {
    const pattern: EventPattern = { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] };
    expect(
      matchesEventPattern(pattern, envelope({}, { source: 'aws.autoscaling', region: 'eu-west-1' })),
    ).toBe(true);
    expect(
      matchesEventPattern(pattern, envelope({}, { source: 'aws.autoscaling', region: 'us-east-1' })),
    ).toBe(false);
  });
});

describe('suffix', () => {
  it.each<FieldCase>([
    {
      name: 'matches a suffix at the end of the string',
      rule: [{ suffix: '.png' }],
      value: 'cat.png',
      expected: true,
    },
    {
      name: 'matches a suffix only at the end',
      rule: [{ suffix: '.png' }],
      value: 'cat.png.zip',
      expected: false,
    },
    {
      name: 'compares the suffix case-sensitively',
      rule: [{ suffix: '.png' }],
      value: 'cat.PNG',
      expected: false,
    },
    { name: 'only applies to strings', rule: [{ suffix: '5' }], value: 25, expected: false },
    {
      name: 'ignores case with equals-ignore-case',
      rule: [{ suffix: { 'equals-ignore-case': 'tBridge' } }],
      value: 'EVENTBRIDGE',
      expected: true,
    },
    {
      name: 'still requires the ignore-case suffix at the end',
      rule: [{ suffix: { 'equals-ignore-case': '.png' } }],
      value: 'CAT.PNG.ZIP',
      expected: false,
    },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });
});

describe('equals-ignore-case', () => {
  it.each<FieldCase>([
    {
      name: 'matches regardless of case',
      rule: [{ 'equals-ignore-case': 'alice' }],
      value: 'ALICE',
      expected: true,
    },
    { name: 'matches mixed case', rule: [{ 'equals-ignore-case': 'alice' }], value: 'Alice', expected: true },
    {
      name: 'still requires the whole string',
      rule: [{ 'equals-ignore-case': 'alice' }],
      value: 'Alicia',
      expected: false,
    },
    {
      name: 'does not trim whitespace',
      rule: [{ 'equals-ignore-case': 'alice' }],
      value: 'alice ',
      expected: false,
    },
    { name: 'only applies to strings', rule: [{ 'equals-ignore-case': '1' }], value: 1, expected: false },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });
});

describe('wildcard', () => {
  it.each<FieldCase>([
    {
      name: 'matches characters in place of *',
      rule: [{ wildcard: 'Simple*Service' }],
      value: 'SimpleQueueService',
      expected: true,
    },
    {
      name: 'lets * match zero characters',
      rule: [{ wildcard: 'Simple*Service' }],
      value: 'SimpleService',
      expected: true,
    },
    {
      name: 'anchors at the end',
      rule: [{ wildcard: 'Simple*Service' }],
      value: 'SimpleQueueServices',
      expected: false,
    },
    {
      name: 'anchors at the start',
      rule: [{ wildcard: 'Simple*Service' }],
      value: 'MySimpleService',
      expected: false,
    },
    {
      name: 'matches a file in a folder',
      rule: [{ wildcard: 'dir/*.png' }],
      value: 'dir/a/b.png',
      expected: true,
    },
    {
      name: 'rejects another folder',
      rule: [{ wildcard: 'dir/*.png' }],
      value: 'other/b.png',
      expected: false,
    },
    {
      name: 'matches text in the middle',
      rule: [{ wildcard: '*Title*' }],
      value: 'My Title Here',
      expected: true,
    },
    { name: 'is case-sensitive', rule: [{ wildcard: '*Title*' }], value: 'my title here', expected: false },
    {
      name: 'keeps literal segments in order',
      rule: [{ wildcard: '*a*b*c' }],
      value: 'xaybzc',
      expected: true,
    },
    {
      name: 'rejects segments out of order',
      rule: [{ wildcard: '*a*b*c' }],
      value: 'xcybza',
      expected: false,
    },
    { name: 'does not let segments overlap', rule: [{ wildcard: 'ab*ba' }], value: 'aba', expected: false },
    {
      name: 'does not let a middle segment overlap the end',
      rule: [{ wildcard: 'x*ab*b' }],
      value: 'xab',
      expected: false,
    },
    { name: 'treats \\* as a literal star', rule: [{ wildcard: 'a\\*b' }], value: 'a*b', expected: true },
    { name: 'does not expand an escaped star', rule: [{ wildcard: 'a\\*b' }], value: 'axb', expected: false },
    {
      name: 'treats \\\\ as a literal backslash',
      rule: [{ wildcard: 'a\\\\*' }],
      value: 'a\\b',
      expected: true,
    },
    { name: 'is an exact match without any *', rule: [{ wildcard: 'abc' }], value: 'abcd', expected: false },
    { name: 'lets a lone * match the empty string', rule: [{ wildcard: '*' }], value: '', expected: true },
    { name: 'only applies to strings', rule: [{ wildcard: '*' }], value: 5, expected: false },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });
});

describe('anything-but', () => {
  it.each<FieldCase>([
    {
      name: 'matches a value other than the single excluded string',
      rule: [{ 'anything-but': 'initializing' }],
      value: 'running',
      expected: true,
    },
    {
      name: 'rejects the excluded string',
      rule: [{ 'anything-but': 'initializing' }],
      value: 'initializing',
      expected: false,
    },
    {
      name: 'excludes case-sensitively by default',
      rule: [{ 'anything-but': 'initializing' }],
      value: 'INITIALIZING',
      expected: true,
    },
    {
      name: 'matches a number other than the excluded one',
      rule: [{ 'anything-but': 123 }],
      value: 124,
      expected: true,
    },
    { name: 'rejects the excluded number', rule: [{ 'anything-but': 123 }], value: 123, expected: false },
    {
      name: 'rejects any string in an excluded list',
      rule: [{ 'anything-but': ['stopped', 'overloaded'] }],
      value: 'overloaded',
      expected: false,
    },
    {
      name: 'matches a string outside the excluded list',
      rule: [{ 'anything-but': ['stopped', 'overloaded'] }],
      value: 'running',
      expected: true,
    },
    {
      name: 'rejects any number in an excluded list',
      rule: [{ 'anything-but': [100, 200, 300] }],
      value: 200,
      expected: false,
    },
    {
      name: 'matches a number outside the excluded list',
      rule: [{ 'anything-but': [100, 200, 300] }],
      value: 150,
      expected: true,
    },
    {
      name: 'does not match a missing field',
      rule: [{ 'anything-but': 'initializing' }],
      value: ABSENT,
      expected: false,
    },
    {
      name: 'does not match an object (not a leaf)',
      rule: [{ 'anything-but': 'x' }],
      value: { a: 1 },
      expected: false,
    },
    {
      name: 'matches a non-string against an excluded prefix',
      rule: [{ 'anything-but': { prefix: '1' } }],
      value: 15,
      expected: true,
    },
    {
      name: 'matches a value of another type',
      rule: [{ 'anything-but': [100, 200] }],
      value: '100',
      expected: true,
    },
    {
      name: 'rejects an event array of only excluded values',
      rule: [{ 'anything-but': 'stopped' }],
      value: ['stopped'],
      expected: false,
    },
    {
      name: 'matches an event array with any non-excluded value',
      rule: [{ 'anything-but': 'stopped' }],
      value: ['stopped', 'running'],
      expected: true,
    },
    {
      name: 'rejects a value with the excluded prefix',
      rule: [{ 'anything-but': { prefix: 'init' } }],
      value: 'initializing',
      expected: false,
    },
    {
      name: 'matches a value without the excluded prefix',
      rule: [{ 'anything-but': { prefix: 'init' } }],
      value: 'running',
      expected: true,
    },
    {
      name: 'rejects a value with any of several prefixes',
      rule: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }],
      value: 'eu-west-1',
      expected: false,
    },
    {
      name: 'rejects a value with the excluded suffix',
      rule: [{ 'anything-but': { suffix: '.png' } }],
      value: 'cat.png',
      expected: false,
    },
    {
      name: 'matches a value without the excluded suffix',
      rule: [{ 'anything-but': { suffix: '.png' } }],
      value: 'cat.jpg',
      expected: true,
    },
    {
      name: 'rejects any casing of an ignore-case value',
      rule: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }],
      value: 'INITIALIZING',
      expected: false,
    },
    {
      name: 'matches other values when ignoring case',
      rule: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }],
      value: 'running',
      expected: true,
    },
    {
      name: 'rejects any casing of an ignore-case list value',
      rule: [{ 'anything-but': { 'equals-ignore-case': ['a', 'stopped'] } }],
      value: 'Stopped',
      expected: false,
    },
    {
      name: 'rejects a path matching the excluded wildcard',
      rule: [{ 'anything-but': { wildcard: '*/lib/*' } }],
      value: '/usr/lib/node',
      expected: false,
    },
    {
      name: 'matches a path outside the excluded wildcard',
      rule: [{ 'anything-but': { wildcard: '*/lib/*' } }],
      value: '/usr/bin/node',
      expected: true,
    },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });
});

describe('numeric', () => {
  it.each<FieldCase>([
    { name: 'matches = on an equal number', rule: [{ numeric: ['=', 100] }], value: 100, expected: true },
    {
      name: 'rejects = on a different number',
      rule: [{ numeric: ['=', 100] }],
      value: 100.5,
      expected: false,
    },
    {
      name: 'matches = across notations (3.018e2 is 301.8)',
      rule: [{ numeric: ['=', 3.018e2] }],
      value: 301.8,
      expected: true,
    },
    { name: 'matches < below the bound', rule: [{ numeric: ['<', 10] }], value: 9.99, expected: true },
    { name: 'excludes the bound for <', rule: [{ numeric: ['<', 10] }], value: 10, expected: false },
    { name: 'includes the bound for <=', rule: [{ numeric: ['<=', 10] }], value: 10, expected: true },
    { name: 'excludes the bound for >', rule: [{ numeric: ['>', 0] }], value: 0, expected: false },
    {
      name: 'matches > just above the bound',
      rule: [{ numeric: ['>', 0] }],
      value: 0.000001,
      expected: true,
    },
    { name: 'includes the bound for >=', rule: [{ numeric: ['>=', 0] }], value: 0, expected: true },
    { name: 'rejects >= below the bound', rule: [{ numeric: ['>=', 0] }], value: -1, expected: false },
    { name: 'handles negative bounds', rule: [{ numeric: ['<', -1] }], value: -2, expected: true },
    {
      name: 'excludes the open lower end of a range',
      rule: [{ numeric: ['>', 10, '<=', 20] }],
      value: 10,
      expected: false,
    },
    { name: 'matches inside a range', rule: [{ numeric: ['>', 10, '<=', 20] }], value: 15, expected: true },
    {
      name: 'includes the closed upper end of a range',
      rule: [{ numeric: ['>', 10, '<=', 20] }],
      value: 20,
      expected: true,
    },
    { name: 'rejects above a range', rule: [{ numeric: ['>', 10, '<=', 20] }], value: 20.1, expected: false },
    {
      name: 'includes the closed lower end of a range',
      rule: [{ numeric: ['>=', 0, '<', 5] }],
      value: 0,
      expected: true,
    },
    {
      name: 'excludes the open upper end of a range',
      rule: [{ numeric: ['>=', 0, '<', 5] }],
      value: 5,
      expected: false,
    },
    {
      name: 'only applies to JSON numbers, not numeric strings',
      rule: [{ numeric: ['>', 0] }],
      value: '5',
      expected: false,
    },
    { name: 'does not match a missing field', rule: [{ numeric: ['>', 0] }], value: ABSENT, expected: false },
    {
      name: 'matches when any array element is in range',
      rule: [{ numeric: ['>', 100] }],
      value: [1, 2, 500],
      expected: true,
    },
    {
      name: 'rejects when no array element is in range',
      rule: [{ numeric: ['>', 100] }],
      value: [1, 2],
      expected: false,
    },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });

  it('requires every numeric field to match (documented example)', () => {
    const pattern: EventPattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    expect(matchesEventPattern(pattern, envelope({ 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 }))).toBe(
      true,
    );
    expect(matchesEventPattern(pattern, envelope({ 'c-count': 6, 'd-count': 3, 'x-limit': 301.8 }))).toBe(
      false,
    );
  });
});

describe('exists', () => {
  it.each<FieldCase>([
    {
      name: 'exists:true matches a present field',
      rule: [{ exists: true }],
      value: 'pending',
      expected: true,
    },
    {
      name: 'exists:true does not match a missing field',
      rule: [{ exists: true }],
      value: ABSENT,
      expected: false,
    },
    {
      name: 'exists:false matches a missing field',
      rule: [{ exists: false }],
      value: ABSENT,
      expected: true,
    },
    {
      name: 'exists:false does not match a present field',
      rule: [{ exists: false }],
      value: 'pending',
      expected: false,
    },
    {
      name: 'exists:true counts an empty string as present',
      rule: [{ exists: true }],
      value: '',
      expected: true,
    },
    { name: 'exists:true counts null as present', rule: [{ exists: true }], value: null, expected: true },
    {
      name: 'exists:false treats an object as not a leaf',
      rule: [{ exists: false }],
      value: { c1: 100 },
      expected: true,
    },
    {
      name: 'exists:true ignores a non-leaf object',
      rule: [{ exists: true }],
      value: { c1: 100 },
      expected: false,
    },
    {
      name: 'exists:false treats an empty array as absent',
      rule: [{ exists: false }],
      value: [],
      expected: true,
    },
    { name: 'exists:true matches a non-empty array', rule: [{ exists: true }], value: ['a'], expected: true },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });

  it('matches exists:false when a whole intermediate object is missing', () => {
    const withoutDetail = { source: 'aws.ec2', 'detail-type': 'Scheduled Event' };
    expect(matchesEventPattern({ detail: { 'c-count': [{ exists: false }] } }, withoutDetail)).toBe(true);
    expect(matchesEventPattern({ detail: { 'c-count': [{ exists: true }] } }, withoutDetail)).toBe(false);
  });

  it('combines with other fields (documented EC2 example with detail.state)', () => {
    const pattern: EventPattern = { source: ['aws.ec2'], detail: { state: [{ exists: true }] } };
    expect(matchesEventPattern(pattern, envelope({ 'instance-id': 'i-abcd1111', state: 'pending' }))).toBe(
      true,
    );
    expect(matchesEventPattern(pattern, envelope({ 'c-count': { c1: 100 } }))).toBe(false);
  });
});

describe('cidr', () => {
  it.each<FieldCase>([
    {
      name: 'matches an address inside an IPv4 /24',
      rule: [{ cidr: '10.0.0.0/24' }],
      value: '10.0.0.255',
      expected: true,
    },
    {
      name: 'matches the network address itself',
      rule: [{ cidr: '10.0.0.0/24' }],
      value: '10.0.0.0',
      expected: true,
    },
    {
      name: 'rejects an address just outside the block',
      rule: [{ cidr: '10.0.0.0/24' }],
      value: '10.0.1.0',
      expected: false,
    },
    { name: 'matches inside a /8', rule: [{ cidr: '10.0.0.0/8' }], value: '10.200.3.4', expected: true },
    { name: 'rejects outside a /8', rule: [{ cidr: '10.0.0.0/8' }], value: '11.0.0.1', expected: false },
    {
      name: 'treats /32 as a single host',
      rule: [{ cidr: '192.168.1.1/32' }],
      value: '192.168.1.2',
      expected: false,
    },
    {
      name: 'lets /0 match every IPv4 address',
      rule: [{ cidr: '0.0.0.0/0' }],
      value: '203.0.113.9',
      expected: true,
    },
    {
      name: 'ignores host bits in the rule address',
      rule: [{ cidr: '10.0.0.5/24' }],
      value: '10.0.0.1',
      expected: true,
    },
    {
      name: 'does not match a string that is not an IP',
      rule: [{ cidr: '10.0.0.0/8' }],
      value: '10.example.com',
      expected: false,
    },
    {
      name: 'does not match an out-of-range octet',
      rule: [{ cidr: '10.0.0.0/8' }],
      value: '10.0.0.256',
      expected: false,
    },
    { name: 'does not match a number', rule: [{ cidr: '0.0.0.0/0' }], value: 167772160, expected: false },
    {
      name: 'matches inside an IPv6 block',
      rule: [{ cidr: '2001:db8::/32' }],
      value: '2001:db8:1234::1',
      expected: true,
    },
    {
      name: 'rejects outside an IPv6 block',
      rule: [{ cidr: '2001:db8::/32' }],
      value: '2001:db9::1',
      expected: false,
    },
    {
      name: 'accepts the uncompressed IPv6 form',
      rule: [{ cidr: '2001:db8::/64' }],
      value: '2001:0db8:0000:0000:0000:0000:0000:0001',
      expected: true,
    },
    {
      name: 'understands an embedded IPv4 tail',
      rule: [{ cidr: '::ffff:0:0/96' }],
      value: '::ffff:10.0.0.1',
      expected: true,
    },
    {
      name: 'keeps IPv6 and IPv4 apart',
      rule: [{ cidr: '10.0.0.0/8' }],
      value: '::ffff:10.0.0.1',
      expected: false,
    },
    {
      name: 'rejects a malformed IPv6 address',
      rule: [{ cidr: '::/0' }],
      value: '2001:db8:::1',
      expected: false,
    },
    {
      name: 'rejects :: alongside eight explicit groups',
      rule: [{ cidr: '::/0' }],
      value: '1:2:3:4::5:6:7:8',
      expected: false,
    },
    {
      name: 'rejects an IPv6 address with nine groups',
      rule: [{ cidr: '::/0' }],
      value: '1:2:3:4:5:6:7:8:9',
      expected: false,
    },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });
});

describe('$or', () => {
  const newYorkOrMonday: EventPattern = {
    detail: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
  };

  it.each([
    { Location: 'New York', Day: 'Tuesday', expected: true },
    { Location: 'Boston', Day: 'Monday', expected: true },
    { Location: 'New York', Day: 'Monday', expected: true },
    { Location: 'Boston', Day: 'Tuesday', expected: false },
  ])(
    'matches Location "New York" or Day "Monday": $Location/$Day -> $expected',
    ({ expected, ...detail }) => {
      expect(matchesEventPattern(newYorkOrMonday, envelope(detail))).toBe(expected);
    },
  );

  it('ANDs an $or with the sibling fields', () => {
    const pattern: EventPattern = {
      source: ['aws.cloudwatch'],
      detail: {
        $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
      },
    };
    const cloudwatch = (detail: Detail, source = 'aws.cloudwatch') => envelope(detail, { source });
    expect(matchesEventPattern(pattern, cloudwatch({ namespace: 'AWS/ES' }))).toBe(true);
    expect(matchesEventPattern(pattern, cloudwatch({ namespace: 'AWS/ES' }, 'aws.ec2'))).toBe(false);
    expect(matchesEventPattern(pattern, cloudwatch({ metricName: 'DiskQueueDepth' }))).toBe(false);
  });

  it('requires every field inside one $or alternative (an AND inside the OR)', () => {
    const pattern: EventPattern = {
      detail: {
        $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2'] }],
      },
    };
    expect(matchesEventPattern(pattern, envelope({ metricType: 'MetricType', namespace: 'AWS/EC2' }))).toBe(
      true,
    );
    expect(matchesEventPattern(pattern, envelope({ metricType: 'MetricType', namespace: 'AWS/ES' }))).toBe(
      false,
    );
  });

  it('supports $or nested inside an $or alternative', () => {
    const pattern: EventPattern = {
      detail: {
        $or: [
          { metricName: ['CPUUtilization'] },
          { namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
        ],
      },
    };
    expect(matchesEventPattern(pattern, envelope({ namespace: 'AWS/EC2', spaceId: 1000 }))).toBe(true);
    expect(matchesEventPattern(pattern, envelope({ namespace: 'AWS/EC2', spaceId: 1001 }))).toBe(false);
    expect(matchesEventPattern(pattern, envelope({ namespace: 'AWS/ES', metricId: 1234 }))).toBe(false);
  });

  it('requires each of several parallel $or clauses to hold', () => {
    const pattern: EventPattern = {
      $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }],
      detail: { $or: [{ state: ['ALARM'] }, { previousState: ['ALARM'] }] },
    };
    expect(matchesEventPattern(pattern, envelope({ state: 'ALARM' }, { source: 'aws.cloudwatch' }))).toBe(
      true,
    );
    expect(matchesEventPattern(pattern, envelope({ state: 'OK' }, { source: 'aws.cloudwatch' }))).toBe(false);
    expect(matchesEventPattern(pattern, envelope({ state: 'ALARM' }, { source: 'aws.ec2' }))).toBe(false);
  });

  it('lets alternatives reach into different parts of the envelope', () => {
    const pattern: EventPattern = {
      $or: [{ detail: { priority: [{ numeric: ['>=', 8] }] } }, { source: ['okepay.alerts'] }],
    };
    expect(matchesEventPattern(pattern, envelope({ priority: 9 }))).toBe(true);
    expect(matchesEventPattern(pattern, envelope({ priority: 1 }, { source: 'okepay.alerts' }))).toBe(true);
    expect(matchesEventPattern(pattern, envelope({ priority: 1 }))).toBe(false);
  });

  it('treats "$or" with an object value as an ordinary field name', () => {
    const pattern: EventPattern = { detail: { $or: { kind: ['a'] } } };
    expect(matchesEventPattern(pattern, envelope({ $or: { kind: 'a' } }))).toBe(true);
    expect(matchesEventPattern(pattern, envelope({ kind: 'a' }))).toBe(false);
  });
});

describe('combinations', () => {
  // The "complex example" of the docs, plus a cidr clause from Event Ruler's README.
  const complex: EventPattern = {
    time: [{ prefix: '2017-10-02' }],
    detail: {
      state: [{ 'anything-but': 'initializing' }],
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ 'anything-but': [100, 200, 300] }],
      'source-ip': [{ cidr: '10.0.0.0/8' }],
    },
  };
  const matchingDetail: Detail = {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  };
  const time = '2017-10-02T16:24:49Z';

  it('matches the documented complex example when every clause holds', () => {
    expect(matchesEventPattern(complex, envelope(matchingDetail, { time }))).toBe(true);
  });

  it.each<{ name: string; change: Detail; top?: Record<string, unknown> }>([
    { name: 'the time prefix differs', change: {}, top: { time: '2017-10-03T00:00:00Z' } },
    { name: 'state is the excluded value', change: { state: 'initializing' } },
    { name: 'c-count is outside its range', change: { 'c-count': 0 } },
    { name: 'd-count is too large', change: { 'd-count': 10 } },
    { name: 'x-limit is an excluded number', change: { 'x-limit': 200 } },
    { name: 'source-ip is outside the block', change: { 'source-ip': '192.168.0.1' } },
    { name: 'a numeric field is missing', change: { 'd-count': undefined } },
  ])('rejects the complex example when $name', ({ change, top }) => {
    const detail = Object.fromEntries(
      Object.entries({ ...matchingDetail, ...change }).filter(([, v]) => v !== undefined),
    );
    expect(matchesEventPattern(complex, envelope(detail, { time, ...top }))).toBe(false);
  });

  it.each<FieldCase>([
    {
      name: 'ORs an exact value with an operator',
      rule: ['running', { prefix: 'stop' }],
      value: 'stopping',
      expected: true,
    },
    {
      name: 'rejects when neither alternative holds',
      rule: ['running', { prefix: 'stop' }],
      value: 'pending',
      expected: false,
    },
    {
      name: 'ORs an exact number with a numeric range',
      rule: [0, { numeric: ['>', 100] }],
      value: 0,
      expected: true,
    },
    {
      name: 'rejects a number outside both alternatives',
      rule: [0, { numeric: ['>', 100] }],
      value: 50,
      expected: false,
    },
    {
      name: 'ORs exists:false with a value',
      rule: [{ exists: false }, 'EUR'],
      value: ABSENT,
      expected: true,
    },
  ])('$name', ({ rule, value, expected }) => {
    expect(fieldMatches(rule, value)).toBe(expected);
  });

  it('routes a realistic okePay payment event', () => {
    const pattern: EventPattern = {
      source: [{ prefix: 'okepay.' }],
      'detail-type': ['Payment Completed', 'Payment Refunded'],
      detail: {
        currency: [{ 'equals-ignore-case': 'eur' }],
        amount: [{ numeric: ['>=', 100] }],
        merchant: { id: [{ wildcard: 'm-*-live' }] },
        test: [{ exists: false }],
      },
    };
    const payment = (detail: Detail) =>
      envelope(detail, { source: 'okepay.ipn', 'detail-type': 'Payment Completed' });
    const good = { currency: 'EUR', amount: 250, merchant: { id: 'm-42-live' } };
    expect(matchesEventPattern(pattern, payment(good))).toBe(true);
    expect(matchesEventPattern(pattern, payment({ ...good, test: true }))).toBe(false);
    expect(matchesEventPattern(pattern, payment({ ...good, merchant: { id: 'm-42-sandbox' } }))).toBe(false);
    expect(matchesEventPattern(pattern, payment({ ...good, amount: '250' }))).toBe(false);
  });

  it('fails closed on malformed patterns instead of throwing', () => {
    expect(fieldMatches([{ contains: 'x' }], 'x')).toBe(false);
    expect(fieldMatches([{ numeric: ['>'] }], 5)).toBe(false);
    expect(fieldMatches([{ wildcard: 'a**' }], 'ab')).toBe(false);
    expect(fieldMatches([{ prefix: 'a', suffix: 'b' }], 'ab')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Where the matcher once disagreed with Event Ruler (issue 12). Each case says what AWS does; the reasons
// and sources are in the "Decision (a)" to "(d)" comments of the matcher.
// ---------------------------------------------------------------------------------------------------------

/** Pattern and event as JSON text, parsed with their numbers as written (as `okepay rules test` does). */
function matchesJson(pattern: string, event: string): boolean {
  return matchesEventPattern(parseExactJson(pattern) as EventPattern, parseExactJson(event));
}

type JsonCase = { name: string; pattern: string; event: string; expected: boolean };

describe('decision (a): exists:false on a field inside an array of objects', () => {
  // Event Ruler's NameState.getNameTransitions(event, membership) counts every field of that path that is
  // array-consistent with the fields matched so far; the EventBridge guide says nothing about arrays here.
  it.each<JsonCase>([
    {
      name: 'AWS does not match when any element has the field, although another element lacks it',
      pattern: '{"items": {"test": [{"exists": false}]}}',
      event: '{"items": [{"a": 1}, {"test": 1}]}',
      expected: false,
    },
    {
      name: 'AWS matches when no element has the field',
      pattern: '{"items": {"test": [{"exists": false}]}}',
      event: '{"items": [{"a": 1}, {"b": 2}]}',
      expected: true,
    },
    {
      name: 'AWS ignores elements ruled out by a field sorting before it ("sku" < "test" pins element 0)',
      pattern: '{"items": {"sku": ["a"], "test": [{"exists": false}]}}',
      event: '{"items": [{"sku": "a"}, {"sku": "b", "test": 1}]}',
      expected: true,
    },
    {
      name: 'AWS does not let a field sorting after it rule elements out ("code" < "sku": any element counts)',
      pattern: '{"items": {"code": [{"exists": false}], "sku": ["a"]}}',
      event: '{"items": [{"sku": "a"}, {"sku": "b", "code": "x"}]}',
      expected: false,
    },
    {
      name: 'AWS does not match when the element pinned by the earlier field has it',
      pattern: '{"items": {"sku": ["a"], "test": [{"exists": false}]}}',
      event: '{"items": [{"sku": "a", "test": 1}, {"sku": "b"}]}',
      expected: false,
    },
    {
      name: 'AWS matches an empty array of objects (no element has the field)',
      pattern: '{"items": {"test": [{"exists": false}]}}',
      event: '{"items": []}',
      expected: true,
    },
  ])('$name', ({ pattern, event, expected }) => {
    expect(matchesJson(pattern, event)).toBe(expected);
  });

  it('AWS does not match "cascades without a response code" on payment-succeeded, whose first attempts have codes', () => {
    const sample = parseExactJson(readFileSync(join(samplesDir, 'payment-succeeded.json'), 'utf8'));
    const pattern: EventPattern = { detail: { cascade: { attempts: { code: [{ exists: false }] } } } };
    expect(matchesEventPattern(pattern, sample)).toBe(false);
  });
});

describe('decision (b): a $or whose branches name a field also written outside it', () => {
  // Event Ruler's JsonRuleCompiler forks the fields written so far into each $or branch and writes every
  // field with a map put: within a branch, the field written later in the document wins.
  const outerFirst = '{"a": ["1"], "$or": [{"a": ["2"]}, {"b": ["3"]}]}';
  const outerLast = '{"$or": [{"a": ["2"]}, {"b": ["3"]}], "a": ["1"]}';
  it.each<JsonCase>([
    {
      name: "AWS matches a=2 alone: the branch's a replaces the outer a written before the $or",
      pattern: outerFirst,
      event: '{"a": "2"}',
      expected: true,
    },
    {
      name: 'AWS matches a=1 with b=3 (the other branch keeps a=1)',
      pattern: outerFirst,
      event: '{"a": "1", "b": "3"}',
      expected: true,
    },
    { name: 'AWS does not match a=1 alone', pattern: outerFirst, event: '{"a": "1"}', expected: false },
    {
      name: "AWS matches a=1 alone when the outer a is written after the $or (it replaces the branch's a)",
      pattern: outerLast,
      event: '{"a": "1"}',
      expected: true,
    },
    {
      name: 'AWS does not match a=2 when the outer a=1 is written after the $or',
      pattern: outerLast,
      event: '{"a": "2"}',
      expected: false,
    },
    {
      name: 'AWS matches a USD payment when "currency": ["EUR"] precedes a $or naming currency USD',
      pattern:
        '{"detail": {"currency": ["EUR"], "$or": [{"currency": ["USD"]}, {"amount": {"number": [{"numeric": [">", 1000]}]}}]}}',
      event: '{"detail": {"currency": "USD", "amount": {"number": 5}}}',
      expected: true,
    },
    {
      name: 'AWS still applies the outer EUR in the branch that does not name currency',
      pattern:
        '{"detail": {"currency": ["EUR"], "$or": [{"currency": ["USD"]}, {"amount": {"number": [{"numeric": [">", 1000]}]}}]}}',
      event: '{"detail": {"currency": "GBP", "amount": {"number": 5000}}}',
      expected: false,
    },
  ])('$name', ({ pattern, event, expected }) => {
    expect(matchesJson(pattern, event)).toBe(expected);
  });

  it('reports the replaced field, so that `okepay rules lint` can warn', () => {
    const { overrides } = compileEventPattern(parseExactJson(outerFirst) as EventPattern);
    expect(overrides).toEqual([
      expect.objectContaining({
        path: 'a',
        kept: expect.objectContaining({ location: '$or[0].a' }),
        dropped: expect.objectContaining({ location: 'a' }),
        choices: ['$or[0]'],
      }),
    ]);
  });
});

describe('decision (c): numbers a double cannot hold exactly', () => {
  // The EventBridge guide: numeric matching "is limited to values between -5.0e9 and +5.0e9 inclusive,
  // with 15 digits of precision, or six digits to the right of the decimal point". Outside that, Event
  // Ruler matches a number by its text (JsonRuleCompiler adds an exact match on the literal; ByteMachine
  // falls back to the text when an event value is not a comparable number).
  it.each<JsonCase>([
    {
      name: 'AWS matches 9007199254740993 written the same way in the event',
      pattern: '{"id": [9007199254740993]}',
      event: '{"id": 9007199254740993}',
      expected: true,
    },
    {
      name: 'AWS does not match 9007199254740993 against 9007199254740992 (the same double)',
      pattern: '{"id": [9007199254740993]}',
      event: '{"id": 9007199254740992}',
      expected: false,
    },
    {
      name: 'AWS does not match a 22-digit id against one differing in the last digit',
      pattern: '{"detail": {"raw": {"transaction_id": [9994456683762355345868]}}}',
      event: '{"detail": {"raw": {"transaction_id": 9994456683762355345869}}}',
      expected: false,
    },
    {
      name: 'AWS matches 1e400 written the same way',
      pattern: '{"x": [1e400]}',
      event: '{"x": 1e400}',
      expected: true,
    },
    {
      name: 'AWS does not match 1e400 against 1E400 (text differs, no numeric value)',
      pattern: '{"x": [1e400]}',
      event: '{"x": 1E400}',
      expected: false,
    },
    {
      name: 'AWS still matches 300 against 3.0e2 (same value inside the domain)',
      pattern: '{"x": [300]}',
      event: '{"x": 3.0e2}',
      expected: true,
    },
    {
      name: 'AWS matches 129.9 against 129.900000',
      pattern: '{"x": [129.9]}',
      event: '{"x": 129.900000}',
      expected: true,
    },
    {
      name: 'AWS does not match 0.1 against 0.1000000000000000000001 (JSON.parse would say equal)',
      pattern: '{"x": [0.1]}',
      event: '{"x": 0.1000000000000000000001}',
      expected: false,
    },
    {
      name: 'AWS matches 0.30000000000000004 only by its text',
      pattern: '{"x": [0.30000000000000004]}',
      event: '{"x": 0.30000000000000004}',
      expected: true,
    },
    {
      name: 'AWS does not compare 0.30000000000000004 numerically (more than six decimals)',
      pattern: '{"x": [{"numeric": [">", 0]}]}',
      event: '{"x": 0.30000000000000004}',
      expected: false,
    },
    {
      name: 'AWS compares 0.000001 numerically (six decimals)',
      pattern: '{"x": [{"numeric": [">", 0]}]}',
      event: '{"x": 0.000001}',
      expected: true,
    },
    {
      name: 'AWS does not compare 1e400 numerically',
      pattern: '{"x": [{"numeric": [">", 0]}]}',
      event: '{"x": 1e400}',
      expected: false,
    },
    {
      name: 'AWS compares 5e9 numerically (the limit is inclusive)',
      pattern: '{"x": [{"numeric": [">=", 5000000000]}]}',
      event: '{"x": 5000000000}',
      expected: true,
    },
    {
      name: 'AWS does not compare 5000000000.000001 numerically (above the limit)',
      pattern: '{"x": [{"numeric": [">", 0]}]}',
      event: '{"x": 5000000000.000001}',
      expected: false,
    },
    {
      name: 'AWS compares -5e9 numerically',
      pattern: '{"x": [{"numeric": ["<=", -5000000000]}]}',
      event: '{"x": -5e9}',
      expected: true,
    },
    {
      name: 'AWS tells 4999999999.999998 from 4999999999.999999 (six decimals, exactly)',
      pattern: '{"x": [{"numeric": ["<", 4999999999.999999]}]}',
      event: '{"x": 4999999999.999998}',
      expected: true,
    },
    {
      name: 'AWS excludes 100.0 with anything-but 100 (same value)',
      pattern: '{"x": [{"anything-but": [100]}]}',
      event: '{"x": 100.0}',
      expected: false,
    },
    {
      name: 'AWS does not exclude 1e400 with anything-but 100',
      pattern: '{"x": [{"anything-but": [100]}]}',
      event: '{"x": 1e400}',
      expected: true,
    },
  ])('$name', ({ pattern, event, expected }) => {
    expect(matchesJson(pattern, event)).toBe(expected);
  });

  it('takes a JavaScript number as its shortest form: 0.1 + 0.2 is 0.30000000000000004, not comparable', () => {
    expect(fieldMatches([{ numeric: ['>', 0] }], 0.1 + 0.2)).toBe(false);
    expect(fieldMatches([{ numeric: ['>', 0] }], 0.3)).toBe(true);
  });

  it.each([
    { operand: '0.1234567', problem: 'more than six digits after the decimal point' },
    { operand: '1e-7', problem: 'more than six digits after the decimal point' },
    { operand: '5000000000.5', problem: 'outside the supported range' },
    { operand: '1e400', problem: 'outside the supported range' },
  ])('AWS refuses a numeric operand of $operand', ({ operand, problem }) => {
    const problems = validateEventPattern(parseExactJson(`{"x": [{"numeric": [">", ${operand}]}]}`));
    expect(problems).toEqual([expect.stringContaining(problem)]);
  });

  it('accepts numeric operands with six decimals and exact numbers of any size', () => {
    expect(validateEventPattern(parseExactJson('{"x": [{"numeric": [">", 0.123456, "<", 5e9]}]}'))).toEqual(
      [],
    );
    expect(validateEventPattern(parseExactJson('{"x": [9994456683762355345868, 1e400]}'))).toEqual([]);
  });
});

describe('decision (d): keys containing a dot', () => {
  // Event Ruler's README, "Caveat: Compiled rules and JSON keys with dots": keys are joined with "." so
  // both rule forms compile alike and match both event forms ("should not be relied upon").
  it.each<JsonCase>([
    {
      name: 'AWS matches a dotted pattern key against nested event keys',
      pattern: '{"detail": {"a.b": ["x"]}}',
      event: '{"detail": {"a": {"b": "x"}}}',
      expected: true,
    },
    {
      name: 'AWS matches a dotted pattern key against the same dotted event key',
      pattern: '{"detail": {"a.b": ["x"]}}',
      event: '{"detail": {"a.b": "x"}}',
      expected: true,
    },
    {
      name: 'AWS matches nested pattern keys against a dotted event key',
      pattern: '{"detail": {"a": {"b": ["x"]}}}',
      event: '{"detail": {"a.b": "x"}}',
      expected: true,
    },
    {
      name: 'AWS sees both event forms as one field with two values',
      pattern: '{"detail": {"a": {"b": ["y"]}}}',
      event: '{"detail": {"a.b": "x", "a": {"b": "y"}}}',
      expected: true,
    },
    {
      name: 'AWS does not match a dotted key one level off',
      pattern: '{"detail": {"a.b": ["x"]}}',
      event: '{"detail": {"a": {"b": {"c": "x"}}}}',
      expected: false,
    },
  ])('$name', ({ pattern, event, expected }) => {
    expect(matchesJson(pattern, event)).toBe(expected);
  });

  it('reports dotted keys, so that `okepay rules lint` can warn', () => {
    const { dottedKeys } = compileEventPattern({ detail: { 'a.b': ['x'] } });
    expect(dottedKeys).toEqual([{ key: 'a.b', location: 'detail.a.b' }]);
  });
});

describe('validateEventPattern', () => {
  it.each<{ name: string; pattern: unknown }>([
    { name: 'a simple EC2 pattern', pattern: { source: ['aws.ec2'], detail: { state: ['terminated'] } } },
    {
      name: 'every leaf operator',
      pattern: {
        detail: {
          a: ['x', 1, true, null, { prefix: 'p' }, { prefix: { 'equals-ignore-case': 'P' } }],
          b: [{ suffix: 's' }, { suffix: { 'equals-ignore-case': 'S' } }, { 'equals-ignore-case': 'e' }],
          c: [{ wildcard: 'a*b\\*c\\\\' }, { numeric: ['=', 3] }, { numeric: ['>=', 0, '<', 5] }],
          d: [{ exists: false }, { cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }],
        },
      },
    },
    {
      name: 'every anything-but form',
      pattern: {
        detail: {
          a: [{ 'anything-but': 'x' }, { 'anything-but': 1 }, { 'anything-but': ['x', 'y'] }],
          b: [
            { 'anything-but': [1, 2] },
            { 'anything-but': { prefix: 'p' } },
            { 'anything-but': { suffix: 's' } },
          ],
          c: [
            { 'anything-but': { 'equals-ignore-case': ['a', 'b'] } },
            { 'anything-but': { wildcard: '*/lib/*' } },
          ],
        },
      },
    },
    {
      name: 'nested $or',
      pattern: { $or: [{ source: ['a'] }, { detail: { $or: [{ x: [1] }, { y: [2] }] } }] },
    },
  ])('accepts $name', ({ pattern }) => {
    expect(validateEventPattern(pattern)).toEqual([]);
  });

  it.each<{ name: string; pattern: unknown; problem: string }>([
    { name: 'null', pattern: null, problem: 'pattern must be a JSON object' },
    { name: 'an array', pattern: [{ source: ['a'] }], problem: 'pattern must be a JSON object' },
    { name: 'a JSON string', pattern: '{"source":["a"]}', problem: 'pattern must be a JSON object' },
    { name: 'an empty pattern', pattern: {}, problem: 'pattern: empty objects are not allowed' },
    {
      name: 'an empty nested object',
      pattern: { detail: {} },
      problem: '"detail": empty objects are not allowed',
    },
    {
      name: 'a leaf that is not an array',
      pattern: { source: 'aws.ec2' },
      problem: '"source": must be an array',
    },
    {
      name: 'an empty leaf array',
      pattern: { source: [] },
      problem: '"source": empty arrays are not allowed',
    },
    {
      name: 'a nested array as a value',
      pattern: { source: [['a']] },
      problem: '"source[0]": match values must be',
    },
    {
      name: 'an unknown operator',
      pattern: { source: [{ contains: 'x' }] },
      problem: 'unknown operator "contains"',
    },
    {
      name: 'two operators in one object',
      pattern: { a: [{ prefix: 'a', suffix: 'b' }] },
      problem: 'exactly one key',
    },
    { name: 'an empty operator object', pattern: { a: [{}] }, problem: 'exactly one key' },
    { name: 'a numeric prefix', pattern: { a: [{ prefix: 1 }] }, problem: '"prefix" must be a string' },
    {
      name: 'a prefix with another operator',
      pattern: { a: [{ prefix: { wildcard: 'x' } }] },
      problem: '"prefix" must be',
    },
    {
      name: 'a non-string suffix',
      pattern: { a: [{ suffix: ['x'] }] },
      problem: '"suffix" must be a string',
    },
    {
      name: 'a non-string equals-ignore-case',
      pattern: { a: [{ 'equals-ignore-case': 1 }] },
      problem: 'must be a string',
    },
    {
      name: 'consecutive wildcards',
      pattern: { a: [{ wildcard: 'a**b' }] },
      problem: 'consecutive wildcard',
    },
    { name: 'an invalid wildcard escape', pattern: { a: [{ wildcard: 'a\\b' }] }, problem: 'invalid escape' },
    {
      name: 'a trailing wildcard backslash',
      pattern: { a: [{ wildcard: 'a\\' }] },
      problem: 'invalid escape',
    },
    {
      name: 'a numeric that is not an array',
      pattern: { a: [{ numeric: '>5' }] },
      problem: '"numeric" must be an array',
    },
    {
      name: 'an empty numeric array',
      pattern: { a: [{ numeric: [] }] },
      problem: '"numeric" must be an array',
    },
    {
      name: 'three numeric comparisons',
      pattern: { a: [{ numeric: ['>', 0, '<', 5, '<', 6] }] },
      problem: 'must be an array',
    },
    {
      name: 'an unknown numeric operator',
      pattern: { a: [{ numeric: ['=>', 5] }] },
      problem: 'unknown numeric operator "=>"',
    },
    {
      name: 'a string numeric operand',
      pattern: { a: [{ numeric: ['>', '5'] }] },
      problem: 'alternate operator strings',
    },
    {
      name: 'a range given upper bound first',
      pattern: { a: [{ numeric: ['<', 5, '>', 0] }] },
      problem: 'lower bound',
    },
    {
      name: 'an inverted range',
      pattern: { a: [{ numeric: ['>', 5, '<', 1] }] },
      problem: 'must be less than upper',
    },
    {
      name: 'an operand beyond 5e9',
      pattern: { a: [{ numeric: ['>', 6e9] }] },
      problem: 'outside the supported range',
    },
    {
      name: 'a string exists',
      pattern: { a: [{ exists: 'true' }] },
      problem: '"exists" must be true or false',
    },
    {
      name: 'a cidr without a prefix length',
      pattern: { a: [{ cidr: '10.0.0.0' }] },
      problem: 'prefix length like',
    },
    {
      name: 'a cidr with a bad address',
      pattern: { a: [{ cidr: '10.0.0.300/24' }] },
      problem: 'not a valid IPv4 or IPv6',
    },
    {
      name: 'an IPv4 prefix length above 32',
      pattern: { a: [{ cidr: '10.0.0.0/33' }] },
      problem: 'from 0 to 32',
    },
    {
      name: 'an IPv6 prefix length above 128',
      pattern: { a: [{ cidr: '::/129' }] },
      problem: 'from 0 to 128',
    },
    { name: 'a non-string cidr', pattern: { a: [{ cidr: 10 }] }, problem: '"cidr" must be a string' },
    {
      name: 'a mixed anything-but list',
      pattern: { a: [{ 'anything-but': ['a', 1] }] },
      problem: 'only strings or only numbers',
    },
    {
      name: 'an empty anything-but list',
      pattern: { a: [{ 'anything-but': [] }] },
      problem: 'must not be empty',
    },
    {
      name: 'a boolean anything-but',
      pattern: { a: [{ 'anything-but': true }] },
      problem: '"anything-but" must be',
    },
    {
      name: 'a null anything-but',
      pattern: { a: [{ 'anything-but': null }] },
      problem: '"anything-but" must be',
    },
    {
      name: 'an anything-but numeric',
      pattern: { a: [{ 'anything-but': { numeric: ['>', 1] } }] },
      problem: 'exactly one of the keys prefix, suffix, equals-ignore-case, wildcard',
    },
    {
      name: 'an empty anything-but prefix',
      pattern: { a: [{ 'anything-but': { prefix: '' } }] },
      problem: 'must not be empty',
    },
    {
      name: 'a numeric anything-but suffix',
      pattern: { a: [{ 'anything-but': { suffix: 1 } }] },
      problem: 'list of strings',
    },
    {
      name: 'a bad anything-but wildcard',
      pattern: { a: [{ 'anything-but': { wildcard: '**' } }] },
      problem: 'consecutive',
    },
    {
      name: 'an $or with one alternative',
      pattern: { $or: [{ a: ['1'] }] },
      problem: 'at least two sub-patterns',
    },
    {
      name: 'a non-object $or alternative',
      pattern: { $or: [{ a: ['1'] }, 'b'] },
      problem: 'must be a JSON object',
    },
    {
      name: 'an operator name inside $or',
      pattern: { $or: [{ prefix: ['a'] }, { b: ['c'] }] },
      problem: 'inside $or',
    },
    {
      name: 'a bad leaf inside $or',
      pattern: { $or: [{ a: 'x' }, { b: ['c'] }] },
      problem: '"$or[0].a": must be',
    },
  ])('rejects $name', ({ pattern, problem }) => {
    const problems = validateEventPattern(pattern);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it('reports every problem, each with the path where it occurs', () => {
    const problems = validateEventPattern({
      source: 'aws.ec2',
      detail: { state: ['ok', { prefix: 1 }], count: [{ numeric: ['>', 5, '<', 1] }] },
    });
    expect(problems).toEqual([
      expect.stringContaining('"source": must be an array'),
      expect.stringContaining('"detail.state[1]": "prefix" must be a string'),
      expect.stringContaining(
        '"detail.count[0]": numeric range lower bound 5 must be less than upper bound 1',
      ),
    ]);
  });
});
