import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem, type } from 'node:os';

export interface Machine {
  cpuModel: string;
  cores: number;
  memory: string;
  node: string;
  os: string;
  date: string;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? 'unknown';
  } catch {
    // Not Linux: /proc is missing; the model is only informative.
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  return {
    cpuModel: cpuModel(),
    cores: availableParallelism(),
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    os: `${type()} ${release()}`,
    date: new Date().toISOString(),
  };
}

export const machineLine = (machine: Machine): string =>
  `${machine.cores} cores (${machine.cpuModel}), ${machine.memory} RAM, Node.js ${machine.node}, ${machine.os}, ${machine.date}`;

/** The 1, 5 and 15 minute load averages: above the core count, other work was competing. */
export const loadLine = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');
