/**
 * How much of the machine other processes took while a bench section ran, so that a table measured on a shared
 * machine says so. The two sides of a ratio against the PyTorch peer or numpy do not slow down equally under load:
 * at a load average of 6 on 2 cores the peer's time grew 5.4× and shnet's wasm step 1.9× (docs/performance.md,
 * "Reading the table"), so a loaded run once showed wasm 1.47× faster than the peer where a quiet one shows it about
 * 2× slower.
 *
 * Linux only: the CPU time of the whole machine comes from /proc/stat, this process's own (with its children, which
 * the section's child process and whatever it waited for are once it exits) from /proc/self/stat. Elsewhere the
 * figure is unknown and no row is judged busy.
 */
import { readFileSync } from 'node:fs';

/** Other processes' average use above this many cores during a section marks its targets "busy". */
export const BUSY_CORES = 0.25;

/** Clock ticks per second of /proc's counters (USER_HZ: 100 on every Linux architecture Node runs on). */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  /** performance.now() when taken, in ms. */
  at: number;
  /** Busy ticks of all CPUs together (everything but idle and iowait). */
  machineTicks: number;
  /** Ticks of this process and of its reaped children: utime + stime + cutime + cstime. */
  ownTicks: number;
}

/** Busy ticks from the aggregate `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal …). */
export function machineBusyTicks(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line == null) throw new Error('/proc/stat has no aggregate "cpu" line');
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return user + nice + system + irq + softirq + (steal || 0);
}

/** utime + stime + cutime + cstime of a /proc/PID/stat line (fields 14–17; the command name may hold spaces). */
export function processTicks(pidStat: string): number {
  const fields = pidStat
    .slice(pidStat.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  return [14, 15, 16, 17].reduce((sum, n) => sum + Number(fields[n - 3]), 0);
}

/** The counters now, or null where /proc is not there. */
export function cpuSnapshot(): CpuSnapshot | null {
  try {
    return {
      at: performance.now(),
      machineTicks: machineBusyTicks(readFileSync('/proc/stat', 'utf8')),
      ownTicks: processTicks(readFileSync('/proc/self/stat', 'utf8')),
    };
  } catch {
    return null;
  }
}

/** Average number of cores other processes kept busy between two snapshots (never negative). */
export function othersCores(before: CpuSnapshot, after: CpuSnapshot): number {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return 0;
  const others = after.machineTicks - before.machineTicks - (after.ownTicks - before.ownTicks);
  return Math.max(0, others / TICKS_PER_SECOND / seconds);
}
