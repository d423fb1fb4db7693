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
