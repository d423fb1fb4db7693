// Messages between SqliteWriter (main thread) and writer-thread.ts.
import type { ErrorCode } from '../../core/errors.js';
import type { ForwardLogOptions, ForwardPage, ForwardStatus } from '../forward-port.js';
import type { RefreshOutcome, WriteBatch, WriteResult, WriterLoad } from '../port.js';

export type Synchronous = 'NORMAL' | 'FULL';

export interface WriterThreadOptions {
  path: string;
  synchronous: Synchronous;
  busyTimeoutMs: number;
  /** negative: KiB, as in PRAGMA cache_size */
  cacheSize: number;
  maxDbBytes?: number;
  /** share of one core the background re-aggregation may take (storage/background-refresh.ts) */
  rollupCpuPercent?: number;
  /** with --forward: keep the forward log (forward-log.ts) */
  forward?: ForwardLogOptions;
}

/** What the connection actually runs with, read back after setting it. */
export interface SqliteSettings {
  journalMode: string;
  synchronous: Synchronous;
  pageSize: number;
  maxPageCount: number;
  schemaVersion: number;
}

/** A failure as it crosses the thread boundary: class identity does not survive cloning. */
export interface ThreadError {
  code: ErrorCode;
  message: string;
  sqliteCode?: string;
}

export type ToThread =
  | { type: 'write'; id: number; batch: WriteBatch }
  | { type: 'refresh-rollups'; id: number; now: number }
  | { type: 'forward-page'; id: number; afterSeq: number; maxReadings: number }
  | { type: 'forward-advance'; id: number; seq: number }
  | { type: 'forward-status'; id: number }
  | { type: 'close' };

export type FromThread =
  | { type: 'ready'; settings: SqliteSettings }
  | { type: 'open-failed'; error: ThreadError }
  | { type: 'written'; id: number; result: WriteResult }
  | { type: 'rollups-refreshed'; id: number; result: RefreshOutcome }
  /** the answer to a forward-* request (undefined for forward-advance) */
  | { type: 'forward-answer'; id: number; result: ForwardPage | ForwardStatus | undefined }
  /** the thread's work since the last report, sent about once a second while it works */
  | { type: 'load'; load: WriterLoad }
  /** a background re-aggregation slice failed (rolled back); it is tried again */
  | { type: 'refresh-failed'; error: ThreadError }
  /** a write or a refresh failed and was rolled back */
  | { type: 'write-failed'; id: number; error: ThreadError }
  | { type: 'closed'; error?: ThreadError };
