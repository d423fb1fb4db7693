// The forward log on SQLite (schema step 7): one row per committed batch, in
// commit order. Runs in the writer thread: append() inside the batch's own
// transaction, so a batch is owed upstream exactly when it is acked; page()
// and advance() between batches, so the main thread never waits on a read.

import type { Database, Statement } from 'better-sqlite3';
import type { ForwardBatch, ForwardLogOptions, ForwardPage, ForwardStatus } from '../forward-port.js';
import type { ReadingColumns } from '../port.js';
import { ensureStableId, storedStableId } from './stable-id.js';

const CURSOR = 'forward_cursor';
const FORWARDED = 'forward_forwarded';
const DROPPED = 'forward_dropped';
const CLIENT_ID = 'forward_client_id';

export interface SqliteForwardLog {
  /** Must run inside the caller's transaction. */
  append(readings: ReadingColumns, committedAt: number): void;
  page(afterSeq: number, maxReadings: number): ForwardPage;
  advance(seq: number): void;
  status(): ForwardStatus;
}

interface LogRow {
  seq: number;
  committed_at: number;
  count: number;
  names: string;
  device_index: Buffer;
  metric_index: Buffer;
  ts: Buffer;
  value: Buffer;
}

export function prepareForwardLog(db: Database, opts: ForwardLogOptions): SqliteForwardLog {
  const insert = db.prepare(
    `INSERT INTO forward_log (committed_at, count, names, device_index, metric_index, ts, value)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const select = db.prepare('SELECT * FROM forward_log WHERE seq > ? ORDER BY seq LIMIT 256');
  const countUpTo = db.prepare('SELECT coalesce(sum(count), 0) FROM forward_log WHERE seq <= ?').pluck();
  const deleteUpTo = db.prepare('DELETE FROM forward_log WHERE seq <= ?');
  const oldest = db.prepare('SELECT seq, count FROM forward_log ORDER BY seq LIMIT 64');
  const oldestAt = db.prepare('SELECT committed_at FROM forward_log ORDER BY seq LIMIT 1').pluck();
  const state = stateAccess(db);
  const totals = db.prepare('SELECT coalesce(sum(count), 0) AS readings, count(*) AS rows FROM forward_log');
  const backlog = totals.get() as { readings: number; rows: number };
  const clientId = clientIdOf(ensureStableId(db, CLIENT_ID));

  // Over the cap, the oldest whole batches go first, counted, in the same transaction.
  const dropOldest = (): void => {
    let dropped = 0;
    let upTo = 0;
    for (const row of oldest.all() as Array<{ seq: number; count: number }>) {
      if (backlog.readings - dropped <= opts.maxBacklogReadings) break;
      dropped += row.count;
      upTo = row.seq;
      backlog.rows--;
    }
    deleteUpTo.run(upTo);
    backlog.readings -= dropped;
    state.add(DROPPED, dropped);
  };

  const advance = db.transaction((seq: number) => {
    const readings = countUpTo.get(seq) as number;
    const rows = deleteUpTo.run(seq).changes;
    backlog.readings -= readings;
    backlog.rows -= rows;
    state.add(FORWARDED, readings);
    if (seq > state.get(CURSOR)) state.set(CURSOR, seq);
  });

  return {
    append(readings, committedAt) {
      const count = readings.ts.length;
      if (count === 0) return;
      insert.run(
        committedAt,
        count,
        JSON.stringify({ devices: readings.devices, metrics: readings.metrics }),
        bytesOf(readings.deviceIndex),
        bytesOf(readings.metricIndex),
        bytesOf(readings.ts),
        bytesOf(readings.value),
      );
      backlog.readings += count;
      backlog.rows++;
      if (opts.maxBacklogReadings > 0 && backlog.readings > opts.maxBacklogReadings) dropOldest();
    },
    page(afterSeq, maxReadings) {
      const batches: ForwardBatch[] = [];
      let total = 0;
      for (const row of select.iterate(afterSeq) as IterableIterator<LogRow>) {
        if (batches.length > 0 && total + row.count > maxReadings) break;
        batches.push(toBatch(row));
        total += row.count;
      }
      return { batches, readings: total };
    },
    advance: (seq) => advance.immediate(seq),
    status: () => ({
      cursor: state.get(CURSOR),
      backlogReadings: backlog.readings,
      backlogBatches: backlog.rows,
      oldestCommittedAt: (oldestAt.get() as number | undefined) ?? null,
      forwardedReadings: state.get(FORWARDED),
      droppedReadings: state.get(DROPPED),
      clientId,
    }),
  };
}

/** The forward state as a separate process sees it (`npm run query -- forward-status`), read-only. */
export function readForwardStatus(db: Database): ForwardStatus {
  const hasLog = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'forward_log'`).get() !== undefined;
  const state = stateAccess(db);
  const totals = hasLog
    ? (db.prepare('SELECT coalesce(sum(count), 0) AS readings, count(*) AS rows FROM forward_log').get() as {
        readings: number;
        rows: number;
      })
    : { readings: 0, rows: 0 };
  const oldestAt = hasLog
    ? (db.prepare('SELECT committed_at FROM forward_log ORDER BY seq LIMIT 1').pluck().get() as
        | number
        | undefined)
    : undefined;
  const id = storedStableId(db, CLIENT_ID);
  return {
    cursor: state.get(CURSOR),
    backlogReadings: totals.readings,
    backlogBatches: totals.rows,
    oldestCommittedAt: oldestAt ?? null,
    forwardedReadings: state.get(FORWARDED),
    droppedReadings: state.get(DROPPED),
    clientId: id === undefined ? '' : clientIdOf(id),
  };
}

interface StateAccess {
  get(key: string): number;
  set(key: string, value: number): void;
  add(key: string, delta: number): void;
}

function stateAccess(db: Database): StateAccess {
  const get = db.prepare('SELECT value FROM gateway_state WHERE key = ?').pluck();
  let upsert: Statement<[string, number]> | undefined;
  const set = (key: string, value: number): void => {
    // Prepared on first use: a read-only connection never writes.
    upsert ??= db.prepare<[string, number]>(
      'INSERT INTO gateway_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    upsert.run(key, value);
  };
  return {
    get: (key) => (get.get(key) as number | undefined) ?? 0,
    set,
    add(key, delta) {
      if (delta !== 0) set(key, ((get.get(key) as number | undefined) ?? 0) + delta);
    },
  };
}

function clientIdOf(id: number): string {
  return `sensor-gateway-edge-${id.toString(16).padStart(12, '0')}`;
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

function toBatch(row: LogRow): ForwardBatch {
  const names = JSON.parse(row.names) as { devices: string[]; metrics: string[] };
  return {
    seq: row.seq,
    committedAt: row.committed_at,
    readings: {
      devices: names.devices,
      metrics: names.metrics,
      // Copied into fresh buffers: a Float64Array needs an 8-byte aligned offset.
      deviceIndex: new Uint32Array(copyOf(row.device_index)),
      metricIndex: new Uint32Array(copyOf(row.metric_index)),
      ts: new Float64Array(copyOf(row.ts)),
      value: new Float64Array(copyOf(row.value)),
    },
  };
}

function copyOf(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
