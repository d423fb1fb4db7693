// Support for the store-and-forward tests: read a gateway's forward state
// over HTTP, wait for a condition on it, and compare two databases' readings.

import Database from 'better-sqlite3';
import type { ForwardState } from '../../gateway/forward/forward-state.js';

export async function forwardState(httpPort: number): Promise<ForwardState> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/stats`);
  const body = (await res.json()) as { forward?: ForwardState };
  if (body.forward === undefined) throw new Error('no forward state in /api/stats');
  return body.forward;
}

/**
 * Polls `read` until `done` holds: the condition is on the gateway's own
 * reported state, so this waits for that event, however slow the machine.
 */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** "device|metric|ts|value" of every stored reading whose device id starts with prefix. */
export function storedReadings(dbPath: string, prefix: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT s.device_id AS d, s.metric AS m, r.ts AS t, r.value AS v
         FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device_id LIKE ? || '%'`,
      )
      .all(prefix) as Array<{ d: string; m: string; t: number; v: number }>;
    return rows.map((r) => `${r.d}|${r.m}|${r.t}|${r.v}`).sort();
  } finally {
    db.close();
  }
}
