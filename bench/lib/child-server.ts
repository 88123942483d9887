/**
 * A server under test in its own process, so its memory is its own: started with tsx, ready when it
 * prints the line `readyPattern` matches (whose first group is the URL), and measured through
 * /proc/<pid>/status (VmHWM is the kernel's record of the process's peak resident set).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ChildServer {
  pid: number;
  url: string;
  /** Peak resident set size in bytes: VmHWM, or the largest sampled VmRSS where VmHWM is missing. */
  peakRssBytes(): number;
  /**
   * CPU time the process has used so far (user + system), in seconds. CPU per request moves less than
   * throughput when other work shares the machine.
   */
  cpuSeconds(): number;
  output(): string;
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  /** Arguments to `node`, e.g. `['--import', 'tsx', 'bench/servers/hmac-server.ts']`. */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  readyPattern: RegExp;
  timeoutMs?: number;
}

function statusKilobytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
    );
    return match?.[1] ? Number(match[1]) : undefined;
  } catch {
    // The process has exited (or this is not Linux): nothing more to sample.
    return undefined;
  }
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat's times (100 on every common Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100; // no getconf: the kernel's usual value
    }
  }
  return clockTicks;
}

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    // The process has exited (or this is not Linux).
    return Number.NaN;
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start node ${options.args.join(' ')}`);
  let output = '';
  // Kept short: the servers print little, but a chatty one must not grow the benchmark's memory.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let sampledPeakKb = 0;
  let hwmKb = 0;
  const sample = () => {
    sampledPeakKb = Math.max(sampledPeakKb, statusKilobytes(pid, 'VmRSS') ?? 0);
    hwmKb = Math.max(hwmKb, statusKilobytes(pid, 'VmHWM') ?? 0);
  };
  const sampler = setInterval(sample, 200);

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let url: string | undefined;
  while (url === undefined) {
    url = output.match(options.readyPattern)?.[1];
    if (url) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      clearInterval(sampler);
      child.kill('SIGKILL');
      throw new Error(`node ${options.args.join(' ')} did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    pid,
    url,
    peakRssBytes: () => {
      sample();
      return Math.max(hwmKb, sampledPeakKb) * 1024;
    },
    cpuSeconds: () => cpuSecondsOf(pid),
    output: () => output,
    stop: async () => {
      sample();
      clearInterval(sampler);
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 10_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    },
  };
}
