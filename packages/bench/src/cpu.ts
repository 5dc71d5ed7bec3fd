// CPU use of processes from /proc/<pid>/stat: utime + stime (clock ticks, all threads of the
// process) sampled at the start and the end of a measured period. The result is a percentage of
// one core: 100% = one core busy the whole period, 200% = two cores.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  /** Clock ticks in user and kernel mode (fields 14 and 15 of /proc/<pid>/stat). */
  utime: number;
  stime: number;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold
 * spaces and parentheses itself, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): CpuTimes {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  // After ") ": field 3 (state) is at index 0, so field n is at index n - 3.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(f[14 - 3]);
  const stime = Number(f[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('bad /proc/<pid>/stat fields');
  return { utime, stime };
}

/** CPU % of one core between two samples taken wallMs apart, with hz clock ticks per second. */
export function cpuPercent(before: CpuTimes, after: CpuTimes, hz: number, wallMs: number): number {
  if (!(wallMs > 0) || !(hz > 0)) return NaN;
  const ticks = after.utime + after.stime - (before.utime + before.stime);
  return (ticks / hz / (wallMs / 1000)) * 100;
}

let clkTck: number | null = null;

/** Clock ticks per second (getconf CLK_TCK; 100 on Linux in practice). */
export function clockTicks(): number {
  if (clkTck !== null) return clkTck;
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    clkTck = Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}

export function readCpuTimes(pid: number): CpuTimes | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export interface NamedPid {
  name: string;
  pid: number;
}

/** Samples a set of processes at start(), computes their CPU % at stop(). */
export class CpuSampler {
  private t0 = 0;
  private readonly before = new Map<string, CpuTimes | null>();

  constructor(
    private readonly procs: NamedPid[],
    private readonly now: () => number = () => performance.now(),
    private readonly read: (pid: number) => CpuTimes | null = readCpuTimes,
    private readonly hz = clockTicks(),
  ) {}

  start(): void {
    this.t0 = this.now();
    this.before.clear();
    for (const p of this.procs) this.before.set(p.name, this.read(p.pid));
  }

  /** CPU % of one core per process name over the period since start() (null: not readable, e.g. exited). */
  stop(): Record<string, number | null> {
    const wall = this.now() - this.t0;
    const out: Record<string, number | null> = {};
    for (const p of this.procs) {
      const b = this.before.get(p.name);
      const a = this.read(p.pid);
      out[p.name] = b && a ? round1(cpuPercent(b, a, this.hz, wall)) : null;
    }
    return out;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
