// Legacy scrypt rows, rehashed under the pepper once their token proved good
// at CONNECT, are written here: batched, on a connection of their own, off
// the CONNECT path. The gateway's registry connection is read-only, and the
// writer thread owns ingest; this connection never waits for a lock (busy
// timeout 0, so the event loop is never blocked): a batch that finds the
// database busy stays queued for the next try.

import type Database from 'better-sqlite3';
import { CredentialStore } from './credential-store.js';
import type { TokenHash } from './tokens.js';

export interface RehashQueue {
  /** Queues the new hash of a row proven good at `version`. */
  add(deviceId: string, version: number, hash: TokenHash): void;
  /** Writes what is queued now, in one transaction; on SQLITE_BUSY it stays queued. */
  flush(): void;
  readonly pending: number;
  /** One last flush, then closes the connection. */
  close(): void;
}

export interface RehashQueueOptions {
  /** opens the write connection, on first need */
  open: () => Database.Database;
  /** how long after the first queued hash a batch is written; default 1000 */
  intervalMs?: number;
  onFlushed?: (rows: number) => void;
  /** a batch that failed for another reason than a busy database; it is dropped (the rows verify as they are) */
  onError?: (err: unknown) => void;
}

export function createRehashQueue(options: RehashQueueOptions): RehashQueue {
  const intervalMs = options.intervalMs ?? 1000;
  const queued = new Map<string, { version: number; hash: TokenHash }>();
  let db: Database.Database | undefined;
  let store: CredentialStore | undefined;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    timer = undefined;
    if (queued.size === 0) return;
    try {
      if (db === undefined) {
        db = options.open();
        db.pragma('busy_timeout = 0');
        store = new CredentialStore(db);
      }
      const batch = [...queued];
      let written = 0;
      db.transaction(() => {
        for (const [deviceId, { version, hash }] of batch)
          if (store!.rehash(deviceId, version, hash)) written++;
      }).immediate();
      for (const [deviceId, entry] of batch) if (queued.get(deviceId) === entry) queued.delete(deviceId);
      options.onFlushed?.(written);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
        arm();
        return;
      }
      queued.clear();
      options.onError?.(err);
    }
  };

  function arm() {
    // Unref'd: a pending rehash must not keep a stopping process alive; close() flushes.
    timer ??= setTimeout(flush, intervalMs).unref();
  }

  return {
    add(deviceId, version, hash) {
      queued.set(deviceId, { version, hash });
      arm();
    },
    flush,
    get pending() {
      return queued.size;
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      flush();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      db?.close();
    },
  };
}
