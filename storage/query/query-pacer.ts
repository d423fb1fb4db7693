// A duty cycle for query threads. On a small machine a reader thread that
// scans for seconds takes a whole core from ingest: the main thread and the
// writer then wait for the CPU, and ack latency rises even though no query
// ever runs on the event loop (a lower nice value did not prevent it). The
// pacer caps a query thread at a share of one core: after each slice of work
// it sleeps long enough that work / (work + sleep) = share. A heavy query
// takes longer; ingest keeps its cores. Work is the thread's own CPU time
// where Linux tells it: a SCHED_IDLE thread (gateway/background-priority.ts)
// that waited for a core has not worked, and must not sleep for it too.

import { readFileSync } from 'node:fs';

export interface PacerOptions {
  /** share of one core a query thread may use, 0 < share <= 1; 1 never sleeps */
  share: number;
  /** work between two checks of the clock, ms */
  sliceMs?: number;
  /** rows (or other units) between two reads of the clock */
  checkEvery?: number;
  now?: () => number;
  /** blocks the calling thread; query workers are threads of their own, so this never touches the event loop */
  sleep?: (ms: number) => void;
}

export interface Pacer {
  /** Call once per unit of work (a row). Sleeps when the slice is used up. */
  tick(): void;
  /** Starts a new slice: call when a query starts, so time spent idle between queries is not counted as work. */
  reset(): void;
  /** total time slept, ms */
  readonly sleptMs: number;
}

/** the default of --query-cpu-percent and of the query CLI */
export const DEFAULT_QUERY_CPU_PERCENT = 25;
export const DEFAULT_SLICE_MS = 10;
const DEFAULT_CHECK_EVERY = 512;

/** How long to rest after `workMs` of work so that work / (work + rest) = share (0 < share ≤ 1). */
export function restForShare(workMs: number, share: number): number {
  return (workMs * (1 - share)) / share;
}

export function createPacer(options: PacerOptions): Pacer {
  const { share } = options;
  if (!(share > 0 && share <= 1)) throw new RangeError(`query CPU share must be in (0, 1], got ${share}`);
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const checkEvery = options.checkEvery ?? DEFAULT_CHECK_EVERY;
  const now = options.now ?? threadCpuClock() ?? (() => performance.now());
  const sleep = options.sleep ?? sleepThread;
  let sliceStart = now();
  let sinceCheck = 0;
  let sleptMs = 0;

  if (share === 1) {
    return {
      tick() {},
      reset() {},
      get sleptMs() {
        return 0;
      },
    };
  }
  return {
    tick() {
      if (++sinceCheck < checkEvery) return;
      sinceCheck = 0;
      const worked = now() - sliceStart;
      if (worked < sliceMs) return;
      const pause = restForShare(worked, share);
      sleep(pause);
      sleptMs += pause;
      sliceStart = now();
    },
    reset() {
      sinceCheck = 0;
      sliceStart = now();
    },
    get sleptMs() {
      return sleptMs;
    },
  };
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/** The calling thread's CPU time in ms (Linux: the first schedstat field, ns); undefined elsewhere. */
export function threadCpuClock(): (() => number) | undefined {
  const read = () => Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;
  try {
    return Number.isFinite(read()) ? read : undefined;
  } catch {
    return undefined;
  }
}

function sleepThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
