// The storage port: the only surface the pipeline and the query tools see.
// SQLite implements it today; PostgreSQL must pass the same contract suite
// (test/storage/contract.ts) to take over.

import type { ErrorCode } from '../core/errors.js';
import type { ForwardLog, ForwardStatus } from './forward-port.js';

/**
 * Readings of one group commit, columnar so that a batch crosses the thread
 * boundary as a few typed arrays instead of thousands of small objects.
 * Row i is (devices[deviceIndex[i]], metrics[metricIndex[i]], ts[i], value[i]).
 * `devices` and `metrics` are dictionaries: each name once, so a backend may
 * key per-device work by index (storage/device-sightings.ts).
 */
export interface ReadingColumns {
  devices: string[];
  /**
   * By device index: the device's number on the main thread
   * (pipelines/device-numbers.ts), or -1 for none; where present, state kept
   * per device behind the batch is found by it instead of by name.
   */
  deviceNumbers?: Int32Array;
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

/**
 * Devices heard from, as columns beside the readings: a device is named by its
 * index into `readings.devices`, which may also hold devices with no reading.
 * Typed arrays cross to the writer thread by transfer; an object per device
 * was a structured clone per device per batch.
 */
export interface DeviceSightings {
  deviceIndex: Uint32Array;
  /** epoch ms of the message that carried it */
  seenAt: Float64Array;
}

/** An alert's lifecycle: raised by an anomalous reading, cleared after enough normal ones. */
export type AlertState = 'raised' | 'cleared';

/** One alert transition: the reading that raised or cleared it, and the baseline's verdict on it. */
export interface AnomalyRecord {
  deviceId: string;
  metric: string;
  ts: number;
  value: number;
  score: number;
  expectedLow: number;
  expectedHigh: number;
  state: AlertState;
}

/** What a payload format says about a series (pipelines/adapters/): kept on the series row. */
export interface SeriesMeta {
  deviceId: string;
  metric: string;
  unit: string | null;
  deviceClass: string | null;
}

export interface WriteBatch {
  readings: ReadingColumns;
  /** units and device classes to set on series (created if new) in the same transaction */
  seriesMeta?: SeriesMeta[];
  deadLetters: DeadLetter[];
  devices: DeviceSightings;
  anomalies?: AnomalyRecord[];
  /** one bounded retention step, run in the same writer so it never races a commit */
  prune?: PruneStep;
}

/** What one run of the re-aggregation did (StorageWriter.refreshRollups). */
export interface RefreshOutcome {
  /** 1-minute rows written or deleted from raw readings */
  minuteRows: number;
  /** 1-hour rows written or deleted from 1-minute rows */
  hourRows: number;
  /** raw readings read */
  readings: number;
  /** (series, minute) marks left because readings arrived while it ran */
  left: number;
}

/** How hard the writer worked over a window (StorageWriter.takeLoad). */
export interface WriterLoad {
  /** time inside batch transactions and re-aggregation slices, ms */
  busyMs: number;
  /** the longest single transaction or slice, ms */
  longestMs: number;
  /** the longest re-aggregation slice, ms (included in longestMs) */
  refreshLongestMs: number;
  /** re-aggregation work in the window */
  refresh: RefreshOutcome;
  /** the writer thread's own V8 heap in use, MB, when it runs in a thread of its own */
  heapUsedMb?: number;
}

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

/** The write side: one writer, off the main thread. */
export interface StorageWriter {
  /** Resolves once the batch is durable (committed); rejects with a GatewayError. */
  write(batch: WriteBatch): Promise<WriteResult>;
  /**
   * Runs the re-aggregation now, until no closed minute or hour (closed as of
   * `now`, default the clock) is left stale, and resolves with what it did.
   * The writer also runs it by itself in small slices between batches; this is
   * for tests, benchmarks and tools that need the tiers materialised at once.
   * Queries are right either way: they answer stale minutes from raw.
   */
  refreshRollups(options?: { now?: number }): Promise<RefreshOutcome>;
  /** The writer's load since the previous call (and its start). */
  takeLoad(): WriterLoad;
  health(): StorageHealth;
  /**
   * The committed readings still owed upstream, present when the writer was
   * opened with forwarding on (--forward; SQLite only so far). Each batch
   * enters it in the transaction that commits the batch.
   */
  readonly forward?: ForwardLog;
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
  /** the store-and-forward state (docs/edge.md); absent where the backend has no forward log */
  forwardStatus?(): Promise<ForwardStatus>;
  close(): Promise<void>;
}
