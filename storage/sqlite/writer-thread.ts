// Entry point of the worker thread that owns THE write connection.
// better-sqlite3 blocks the thread it runs on for every statement, so all
// writes happen here and the broker's event loop never waits on the disk.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { type BatchApplier, prepareBatchApplier } from './apply-batch.js';
import { openWriteConnection } from './connection.js';
import { gatewayCodeForSqlite } from './error-map.js';
import type { FromThread, SqliteSettings, ThreadError, ToThread, WriterThreadOptions } from './protocol.js';
import { prepareRollupRecovery, type RollupRecoverer } from './rollups/recover-rollups.js';

function run(port: MessagePort, options: WriterThreadOptions): void {
  let opened: { db: Database; settings: SqliteSettings; apply: BatchApplier; recover: RollupRecoverer };
  try {
    const { db, settings } = openWriteConnection(options);
    opened = { db, settings, apply: prepareBatchApplier(db), recover: prepareRollupRecovery(db) };
  } catch (err) {
    send(port, { type: 'open-failed', error: toThreadError(err) });
    port.close();
    return;
  }
  const { db, settings, apply, recover } = opened;
  send(port, { type: 'ready', settings });

  // Messages are handled one at a time, synchronously, in arrival order: that is
  // the ordering guarantee per-device order and the ack protocol rely on.
  port.on('message', (message: ToThread) => {
    switch (message.type) {
      case 'write':
        try {
          send(port, { type: 'written', id: message.id, result: apply(message.batch) });
        } catch (err) {
          // better-sqlite3 has already rolled the transaction back; the next batch starts clean.
          send(port, { type: 'write-failed', id: message.id, error: toThreadError(err) });
        }
        return;
      case 'recover-rollups':
        try {
          send(port, { type: 'rollups-recovered', id: message.id, result: recover(message.options) });
        } catch (err) {
          send(port, { type: 'write-failed', id: message.id, error: toThreadError(err) });
        }
        return;
      case 'close': {
        let error: ThreadError | undefined;
        try {
          db.pragma('wal_checkpoint(TRUNCATE)');
        } catch (err) {
          error = toThreadError(err);
        }
        try {
          db.close();
        } catch (err) {
          error ??= toThreadError(err);
        }
        send(port, error === undefined ? { type: 'closed' } : { type: 'closed', error });
        port.close();
        return;
      }
    }
  });
}

function send(port: MessagePort, message: FromThread): void {
  port.postMessage(message);
}

function toThreadError(err: unknown): ThreadError {
  const sqliteCode = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof sqliteCode === 'string'
    ? { code: gatewayCodeForSqlite(sqliteCode), message, sqliteCode }
    : { code: gatewayCodeForSqlite(undefined), message };
}

if (parentPort === null) throw new Error('writer-thread.js must run in a worker thread');
run(parentPort, workerData as WriterThreadOptions);
