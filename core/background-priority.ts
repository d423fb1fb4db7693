import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Nice value for threads whose work can wait: queries, analytics. */
export const BACKGROUND_NICE = 10;

/**
 * On Linux a nice value belongs to a thread, and setpriority(0) names the
 * calling one; called inside a worker thread, it makes that thread yield the
 * cores to ingest (the main thread and the writer) on a small machine,
 * instead of competing with them. Elsewhere, or when not permitted, nothing
 * changes.
 */
export function lowerThreadPriority(nice = BACKGROUND_NICE): boolean {
  try {
    setPriority(nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * Linux's SCHED_IDLE for the calling thread: it runs only on a core nothing
 * else wants, and any other thread that wakes up takes the core from it at
 * once. A nice value only weights the share: measured at 5000 devices, a
 * query thread at nice 10 still delayed the acks the devices saw. Node has no
 * API for scheduling policies, so util-linux's chrt sets it on this thread's
 * id (/proc/thread-self); an unprivileged thread may move itself to
 * SCHED_IDLE. Falls back to lowerThreadPriority where that fails.
 */
export function idleThreadPriority(): 'idle' | 'nice' | 'unchanged' {
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop();
    if (tid !== undefined && /^\d+$/.test(tid)) {
      execFileSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 5_000 });
      return 'idle';
    }
  } catch {
    // not Linux, no chrt, or not permitted
  }
  return lowerThreadPriority() ? 'nice' : 'unchanged';
}
