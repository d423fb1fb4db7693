import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of a /proc stat line (a process's or one of its threads'), in seconds. */
function statCpuSeconds(stat: string): number {
  // Fields after the ")" of the command name; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds so far of a process's main thread (the one whose id is the
 * pid: a Node.js event loop) and of all its other threads together (V8's GC
 * helpers, worker threads, libuv's pool), from /proc/<pid>/task. A thread
 * that has exited takes its time with it: compare readings of threads that live.
 */
export function threadCpuSeconds(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // exited between the listing and the read
    }
    const seconds = statCpuSeconds(stat);
    if (Number(tid) === pid) main += seconds;
    else others += seconds;
  }
  return { main, others };
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** CPU % of one core over an interval; call start() then stop(). */
export function cpuMeter(pid: number) {
  let cpu0 = 0;
  let t0 = 0;
  return {
    start() {
      cpu0 = cpuSeconds(pid);
      t0 = performance.now();
    },
    stop(): number {
      const seconds = (performance.now() - t0) / 1000;
      return ((cpuSeconds(pid) - cpu0) / seconds) * 100;
    },
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
