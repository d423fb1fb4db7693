// Entry point of the worker thread that owns THE write connection.
// better-sqlite3 blocks the thread it runs on for every statement, so all
// writes happen here and the broker's event loop never waits on the disk.
import { performance } from 'node:perf_hooks';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import {
  type BackgroundRefresh,
  DEFAULT_ROLLUP_CPU_PERCENT,
  startBackgroundRefresh,
} from '../background-refresh.js';
import { REFRESH_POLL_MS, REFRESH_SLICE_MS } from '../rollup-refresh.js';
import { type BatchApplier, prepareBatchApplier } from './apply-batch.js';
import { openWriteConnection } from './connection.js';
import { gatewayCodeForSqlite } from './error-map.js';
import { prepareForwardLog, type SqliteForwardLog } from './forward-log.js';
import type { FromThread, SqliteSettings, ThreadError, ToThread, WriterThreadOptions } from './protocol.js';
import { prepareMinuteFolds } from './rollups/minute-folds.js';
import { prepareRollupRefresher, type RollupRefresher } from './rollups/rollup-refresher.js';
import { prepareStaleMarks } from './rollups/stale-marks.js';

function run(port: MessagePort, options: WriterThreadOptions): void {
  let opened: {
    db: Database;
    settings: SqliteSettings;
    apply: BatchApplier;
    refresher: RollupRefresher;
    forward: SqliteForwardLog | undefined;
  };
  try {
    const { db, settings } = openWriteConnection(options);
    const marks = prepareStaleMarks(db);
    const folds = prepareMinuteFolds(db);
    const refresher = prepareRollupRefresher(db, marks, folds);
    const forward = options.forward === undefined ? undefined : prepareForwardLog(db, options.forward);
    const apply = prepareBatchApplier(db, marks, (before) => refresher.prunedBefore(before), forward, folds);
    opened = { db, settings, apply, refresher, forward };
  } catch (err) {
    send(port, { type: 'open-failed', error: toThreadError(err) });
    port.close();
    return;
  }
  const { db, settings, apply, refresher, forward } = opened;
  send(port, { type: 'ready', settings });
  const load = createLoadMeter(port, refresher);
  const background = startPacedRefresh(
    refresher,
    load,
    port,
    options.rollupCpuPercent ?? DEFAULT_ROLLUP_CPU_PERCENT,
  );

  // Messages are handled one at a time, synchronously, in arrival order: that is
  // the ordering guarantee per-device order and the ack protocol rely on.
  port.on('message', (message: ToThread) => {
    switch (message.type) {
      case 'write':
        try {
          const started = performance.now();
          const result = apply(message.batch);
          load.add(performance.now() - started);
          send(port, { type: 'written', id: message.id, result });
        } catch (err) {
          // better-sqlite3 has already rolled the transaction back; the next batch starts clean.
          send(port, { type: 'write-failed', id: message.id, error: toThreadError(err) });
        }
        return;
      case 'refresh-rollups':
        try {
          send(port, { type: 'rollups-refreshed', id: message.id, result: refresher.runAll(message.now) });
        } catch (err) {
          send(port, { type: 'write-failed', id: message.id, error: toThreadError(err) });
        }
        return;
      case 'forward-page':
      case 'forward-advance':
      case 'forward-status':
        answerForward(port, forward, message);
        return;
      case 'close': {
        background.stop();
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

type ForwardRequest = Extract<ToThread, { type: 'forward-page' | 'forward-advance' | 'forward-status' }>;

/** The forwarder's reads and cursor moves, between batches like everything else here. */
function answerForward(
  port: MessagePort,
  forward: SqliteForwardLog | undefined,
  message: ForwardRequest,
): void {
  try {
    if (forward === undefined) throw new Error('the forward log is off (no --forward)');
    if (message.type === 'forward-advance') {
      forward.advance(message.seq);
      send(port, { type: 'forward-answer', id: message.id, result: undefined });
    } else if (message.type === 'forward-status') {
      send(port, { type: 'forward-answer', id: message.id, result: forward.status() });
    } else {
      const result = forward.page(message.afterSeq, message.maxReadings);
      // The page's columns are moved, not copied: they were made for this answer.
      const transfer = result.batches.flatMap(({ readings: r }) =>
        [r.deviceIndex, r.metricIndex, r.ts, r.value].map((column) => column.buffer as ArrayBuffer),
      );
      port.postMessage({ type: 'forward-answer', id: message.id, result } satisfies FromThread, transfer);
    }
  } catch (err) {
    send(port, { type: 'write-failed', id: message.id, error: toThreadError(err) });
  }
}

interface LoadMeter {
  add(ms: number, refresh?: boolean): void;
  report(): void;
}

/** Busy time and the longest transaction, reported once per poll while there is any. */
function createLoadMeter(port: MessagePort, refresher: RollupRefresher): LoadMeter {
  let busyMs = 0;
  let longestMs = 0;
  let refreshLongestMs = 0;
  return {
    add(ms, refresh = false) {
      busyMs += ms;
      if (ms > longestMs) longestMs = ms;
      if (refresh && ms > refreshLongestMs) refreshLongestMs = ms;
    },
    report() {
      const refresh = refresher.takeOutcome();
      if (busyMs === 0 && refresh.minuteRows === 0 && refresh.hourRows === 0) return;
      // memoryUsage() in a worker thread reports that thread's own isolate.
      const heapUsedMb = process.memoryUsage().heapUsed / 2 ** 20;
      send(port, { type: 'load', load: { busyMs, longestMs, refreshLongestMs, refresh, heapUsedMb } });
      busyMs = 0;
      longestMs = 0;
      refreshLongestMs = 0;
    },
  };
}

/**
 * The re-aggregation runs in slices of REFRESH_SLICE_MS, paced to
 * --rollup-cpu-percent of a core (storage/background-refresh.ts); the
 * batches that arrived meanwhile go first, so an ingest commit waits behind
 * one slice at most.
 */
function startPacedRefresh(
  refresher: RollupRefresher,
  load: LoadMeter,
  port: MessagePort,
  cpuPercent: number,
): BackgroundRefresh {
  let lastReport = performance.now();
  return startBackgroundRefresh({
    cpuPercent,
    step: () => {
      const started = performance.now();
      const outcome = { more: false, workMs: 0 };
      try {
        outcome.more = refresher.step(started + REFRESH_SLICE_MS, Date.now(), true);
      } finally {
        // A failed slice worked too: it counts in the writer's load.
        outcome.workMs = performance.now() - started;
        load.add(outcome.workMs, true);
      }
      return outcome;
    },
    // A failed slice (a full disk) is retried at the next poll; ingest goes on.
    onError: (err) => send(port, { type: 'refresh-failed', error: toThreadError(err) }),
    afterStep: () => {
      const now = performance.now();
      if (now - lastReport < REFRESH_POLL_MS) return;
      lastReport = now;
      load.report();
    },
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
