import { closeSync, openSync, readSync } from 'node:fs';

// An event-loop stall has two causes that call for different fixes: the loop
// was busy (our code, a GC pause, a blocking call), or it was ready to run and
// the kernel gave its core to another thread or process. On a 2-core box that
// shares its cores with other work the second kind dominates: measured with a
// load generator beside the gateway, the main thread waited for a core up to
// 40–60 ms at a time while both cores were under half busy. Linux counts that
// wait per thread in /proc/<tid>/schedstat (its second field, run-queue wait
// in ns), so the gateway can tell the two apart in its own stats line.

/** Reads the calling thread's run-queue wait in ns; undefined where the kernel does not tell. */
export type CpuWaitReader = (() => number) & { close(): void };

/**
 * The calling thread's run-queue wait, read from one file descriptor kept open
 * (one pread per call, no open or close). Call it on the thread to be measured.
 * Undefined off Linux or when schedstat is unavailable.
 */
export function openCpuWaitReader(): CpuWaitReader | undefined {
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return undefined;
  }
  const buf = Buffer.alloc(96);
  const read = () => {
    const n = readSync(fd, buf, 0, buf.length, 0);
    const fields = buf.toString('latin1', 0, n).split(' ');
    return Number(fields[1]);
  };
  if (!Number.isFinite(read())) {
    closeSync(fd);
    return undefined;
  }
  return Object.assign(read, { close: () => closeSync(fd) });
}

export interface StallSplit {
  /** the main thread's total wait for a core in the window, ms */
  cpuWaitMs: number;
  /** the longest wait for a core within one tick, ms */
  cpuWaitMaxMs: number;
  /** the longest tick lateness that was not a wait for a core: the loop itself was busy, ms */
  busyMaxMs: number;
}

export interface StallSplitter {
  /** one tick of a timer meant to fire every intervalMs: now in ms, the wait counter in ns */
  tick(nowMs: number, waitNs: number): void;
  /** closes the window */
  rotate(): StallSplit;
}

/**
 * Splits each tick's lateness into the wait for a core during that tick and
 * the rest. Pure, so the arithmetic is tested without timers.
 */
export function createStallSplitter(intervalMs: number): StallSplitter {
  let lastAt: number | undefined;
  let lastWait = 0;
  let window: StallSplit = { cpuWaitMs: 0, cpuWaitMaxMs: 0, busyMaxMs: 0 };
  return {
    tick(nowMs, waitNs) {
      if (lastAt !== undefined) {
        const waitMs = Math.max(0, (waitNs - lastWait) / 1e6);
        const lateMs = Math.max(0, nowMs - lastAt - intervalMs);
        window.cpuWaitMs += waitMs;
        window.cpuWaitMaxMs = Math.max(window.cpuWaitMaxMs, waitMs);
        window.busyMaxMs = Math.max(window.busyMaxMs, lateMs - waitMs);
      }
      lastAt = nowMs;
      lastWait = waitNs;
    },
    rotate() {
      const closed = window;
      window = { cpuWaitMs: 0, cpuWaitMaxMs: 0, busyMaxMs: 0 };
      return closed;
    },
  };
}

export interface StallSampler {
  /** closes the current window */
  rotate(): StallSplit;
  /** stops the timer and closes the file */
  stop(): void;
}

/**
 * Ticks a splitter every intervalMs with the calling thread's run-queue wait.
 * Call it on the thread to be measured; undefined where the kernel does not tell.
 */
export function startStallSampler(intervalMs = 20): StallSampler | undefined {
  const read = openCpuWaitReader();
  if (read === undefined) return undefined;
  const splitter = createStallSplitter(intervalMs);
  const timer = setInterval(() => splitter.tick(performance.now(), read()), intervalMs);
  timer.unref();
  return {
    rotate: () => splitter.rotate(),
    stop() {
      clearInterval(timer);
      read.close();
    },
  };
}
