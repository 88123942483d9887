/**
 * Summarises a V8 CPU profile (`node --cpu-prof` writes them) by where the time went: self time per
 * package (node_modules/<name>), per project file, per Node.js internal, plus (idle) and (garbage
 * collector), and the top functions. The tool behind the "why" of docs/BENCHMARKS.md.
 *
 *   npx tsx bench/profile-summary.ts CPU.*.cpuprofile [--top 15]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runMain } from './lib/main.ts';
import { formatNumber, printTable } from './lib/table.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `zod`, `@aws-sdk/core`, `functions/ingest/receive-ipn.ts`, `node:internal/...`, or `(gc)`. */
export function groupOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const at = url.lastIndexOf('node_modules/');
  if (at !== -1) {
    const parts = url.slice(at + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const project = url.match(/\/(functions|bench|test|bin)\/.*$/);
  return project ? project[0].slice(1) : url;
}

export function summarise(profile: Profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const micros = profile.timeDeltas[index] ?? 0;
    if (!node) return;
    total += micros;
    const { url, functionName, lineNumber } = node.callFrame;
    const group = groupOf(url, functionName);
    groups.set(group, (groups.get(group) ?? 0) + micros);
    const name = `${functionName || '(anonymous)'} ${group}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
  });
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { total, groups: sorted(groups), functions: sorted(functions) };
}

runMain(import.meta.url, async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '15' } },
  });
  const top = Number(values.top);
  for (const file of positionals) {
    const { total, groups, functions } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const busy = total - (groups.find(([name]) => name === '(idle)')?.[1] ?? 0);
    const row = ([name, micros]: [string, number]) => [
      name,
      `${formatNumber(micros / 1000)} ms`,
      `${formatNumber((100 * micros) / total, 1)} %`,
      name === '(idle)' ? '' : `${formatNumber((100 * micros) / busy, 1)} %`,
    ];
    printTable(
      `${file}: self time by package or file`,
      ['where', 'self time', 'of all', 'of busy'],
      groups.slice(0, top).map(row),
    );
    printTable(
      `${file}: top functions by self time`,
      ['function', 'self time', 'of all', 'of busy'],
      functions.slice(0, top).map(row),
    );
  }
});
