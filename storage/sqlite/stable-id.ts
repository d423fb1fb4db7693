// Random ids drawn once per database and kept in gateway_state, each under
// its own key: what makes a gateway's broker sessions its own across
// restarts and upgrades (the ingest ClientId, the forward ClientId), and two
// gateways with their own databases on one host never take over each
// other's. The keys and the stored numbers stay as earlier versions wrote
// them; only how each caller spells its id differs.
import { randomInt } from 'node:crypto';
import type { Database } from 'better-sqlite3';

/** The id stored under `key`, drawn and stored now if it was not: 48 random bits, never 0. */
export function ensureStableId(db: Database, key: string): number {
  // OR IGNORE: a concurrent first draw by another connection wins, and both read the same id.
  db.prepare('INSERT OR IGNORE INTO gateway_state (key, value) VALUES (?, ?)').run(
    key,
    randomInt(1, 2 ** 48),
  );
  return storedStableId(db, key)!;
}

/** The id stored under `key`, or undefined before the first draw; for read-only connections. */
export function storedStableId(db: Database, key: string): number | undefined {
  return db.prepare('SELECT value FROM gateway_state WHERE key = ?').pluck().get(key) as number | undefined;
}
