// The storage port: the only surface the pipeline and the query tools see.
// SQLite implements it today; PostgreSQL must pass the same contract suite
// (test/storage/contract.ts) to take over.

import type { ErrorCode } from '../core/errors.js';
import type { RollupColumns } from '../core/rollup-columns.js';

export type { RollupColumns };

/**
 * Readings of one group commit, columnar so that a batch crosses the thread
 * boundary as a few typed arrays instead of thousands of small objects.
 * Row i is (devices[deviceIndex[i]], metrics[metricIndex[i]], ts[i], value[i]).
 */
export interface ReadingColumns {
  devices: string[];
  metrics: string[];
  deviceIndex: Uint32Array;
  metricIndex: Uint32Array;
  /** epoch milliseconds (integers) */
  ts: Float64Array;
  value: Float64Array;
}

export interface Rejection {
  /** index of the reading within the message's array, 0 for a single object */
  index: number;
  metric?: string;
  code: ErrorCode;
}

export interface DeadLetter {
  receivedAt: number;
  /** null when the topic did not name a valid device */
  deviceId: string | null;
  topic: string;
  /** the first rejection's code; a summary for the row */
  code: ErrorCode;
  /** every rejection in the message (capped by the pipeline) */
  rejections: Rejection[];
  /** how many readings of the message were rejected */
  rejectedCount: number;
  /** how many readings of the same message were accepted */
  acceptedCount: number;
  /** the raw payload, already truncated by the pipeline */
  payload: Uint8Array;
  payloadBytes: number;
}

export interface DeviceSeen {
  deviceId: string;
  /** epoch ms of the message that carried it */
  seenAt: number;
}

export interface AnomalyRecord {
  deviceId: string;
  metric: string;
  ts: number;
  value: number;
  score: number;
  expectedLow: number;
  expectedHigh: number;
}

export interface WriteBatch {
  readings: ReadingColumns;
  deadLetters: DeadLetter[];
  devices: DeviceSeen[];
  /** partial states of 1-minute buckets, merged into the 1m and 1h tiers (pipelines/analytics) */
  rollups?: RollupColumns;
  anomalies?: AnomalyRecord[];
  /** one bounded retention step, run in the same writer so it never races a commit */
  prune?: PruneStep;
  /**
   * The analytics watermark W (epoch ms, a minute boundary): every minute
   * before it has been closed by the analytics and its rollups written, this
   * batch's included (a minute whose rollup write failed is not tracked: the
   * next minute's success moves W past it). Stored in the batch's transaction; a backend keeps the
   * larger of the stored and the new value. StorageWriter.recoverRollups
   * rebuilds the minutes from shortly before W after an unclean stop.
   */
  analyticsWatermark?: number;
}

/**
 * The watermark a clean stop leaves once the analytics have closed every open
 * minute and committed its rollups: there is nothing for the next start to
 * rebuild, so a restart does not re-read the last minutes of raw readings.
 */
export const ALL_MINUTES_CLOSED = Number.MAX_SAFE_INTEGER;

/**
 * Partial states of 1-minute buckets, columnar like ReadingColumns. Row i
 * belongs to (devices[deviceIndex[i]], metrics[metricIndex[i]]) and the minute
 * starting at bucket[i]. A backend MERGES each row into the stored 1-minute
 * bucket and into the 1-hour bucket holding it (pipelines/analytics/rollup-state.ts
 * mergeState), so a late reading's state corrects both tiers and every reading
 * counts once in each.
 */

export type RetentionTier = 'raw' | '1m' | '1h';

export interface PruneStep {
  tier: RetentionTier;
  /** rows of buckets (readings) strictly older than this epoch ms go */
  before: number;
  /** at most this many rows in this step */
  maxRows: number;
}

export interface WriteResult {
  /** rows newly stored */
  inserted: number;
  /** rows ignored because (device, metric, ts) was already stored */
  duplicates: number;
  deadLetters: number;
  /** time spent inside the transaction, ms */
  commitMs: number;
  /** rollup rows merged (1m and 1h counted once each), when the batch had rollups */
  rollups?: number;
  anomalies?: number;
  /** rows deleted by the batch's prune step */
  pruned?: number;
}

export type StorageState = 'ok' | 'failing' | 'closed';

export interface StorageHealth {
  state: StorageState;
  /** the code of the last failure, kept until a later write succeeds */
  lastErrorCode?: ErrorCode;
  lastErrorMessage?: string;
  lastErrorAt?: number;
  /** batches sent to the writer and not yet settled */
  pendingBatches: number;
}

export interface RollupRecoveryOptions {
  /**
   * The analytics' lateness (config analyticsLatenessMs): corrections for
   * minutes up to this long before W may have been held in memory.
   */
  latenessMs: number;
  /** config maxFutureMs: how far ahead of its arrival a stored reading's ts may be */
  maxFutureMs: number;
  /**
   * Raw readings older than this (epoch ms) may have been pruned by retention;
   * null when raw readings are kept for ever. No minute before it is rebuilt.
   */
  rawKeptSince: number | null;
  /**
   * The new watermark: the minute boundary before which the analytics of this
   * run treat minutes as closed (pipelines/analytics/minute-windows.ts
   * closedMinutesBefore). null when this run has analytics off: the watermark
   * is then removed, so a later run does not rebuild the minutes this one
   * stores no rollups for.
   */
  closedBefore: number | null;
}

export interface RollupRecovery {
  /** start of the first minute rebuilt (epoch ms); null when no watermark was stored */
  from: number | null;
  /** raw readings read */
  readings: number;
  /** 1-minute rows written from raw readings */
  minuteRows: number;
  /** 1-minute rows deleted because their minute has no raw readings any more */
  minuteRowsDeleted: number;
  /** 1-hour rows written (merges of their 1-minute rows) */
  hourRows: number;
  /** time taken inside the transaction, ms */
  ms: number;
}

/** The write side: one writer, off the main thread. */
export interface StorageWriter {
  /** Resolves once the batch is durable (committed); rejects with a GatewayError. */
  write(batch: WriteBatch): Promise<WriteResult>;
  /**
   * At start-up, before any ingest: the analytics keep open minutes (and
   * late corrections) in memory, so after an unclean stop their readings are
   * raw but in no rollup. In ONE transaction, when a watermark W is stored:
   * every 1-minute row from R = W - latenessMs - 1 min (down to its minute)
   * on is replaced by the state rebuilt from the raw readings, and the
   * 1-hour rows of those series from R's hour on by merges of their 1-minute
   * rows. Then W becomes options.closedBefore. Rejects with a GatewayError.
   */
  recoverRollups(options: RollupRecoveryOptions): Promise<RollupRecovery>;
  health(): StorageHealth;
  /** Waits for pending writes, checkpoints and closes. Idempotent. */
  close(): Promise<void>;
}

export interface ReadingRow {
  ts: number;
  value: number;
}

export interface ReadingsQuery {
  deviceId: string;
  metric: string;
  /** inclusive, epoch ms */
  from?: number;
  /** exclusive, epoch ms */
  to?: number;
  limit?: number;
}

export interface DeviceRow {
  deviceId: string;
  firstSeen: number;
  /** may lag the newest sighting by up to a minute: backends keep it coarse to spare writes */
  lastSeen: number;
}

export interface DeadLetterRow {
  id: number;
  receivedAt: number;
  deviceId: string | null;
  topic: string;
  code: ErrorCode;
  rejections: Rejection[];
  rejectedCount: number;
  acceptedCount: number;
  payload: Uint8Array;
  payloadBytes: number;
}

export interface MetricSummaryRow {
  metric: string;
  count: number;
  min: number;
  avg: number;
  max: number;
}

/** The read side: its own connections; never the writer's. */
export interface StorageReader {
  readings(query: ReadingsQuery): Promise<ReadingRow[]>;
  devices(): Promise<DeviceRow[]>;
  deadLetters(query?: { deviceId?: string; limit?: number }): Promise<DeadLetterRow[]>;
  metricSummary(query?: { from?: number; to?: number }): Promise<MetricSummaryRow[]>;
  /** count of stored readings, optionally for one device */
  countReadings(query?: { deviceId?: string }): Promise<number>;
  close(): Promise<void>;
}
