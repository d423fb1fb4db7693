// The forward side of the storage port (docs/edge.md): the committed readings
// an edge gateway still owes its upstream broker, in commit order, and the
// cursor that says how far the upstream has acknowledged them.

import type { ReadingColumns } from './port.js';

/** One committed batch as the log holds it: its readings, in the order they committed. */
export interface ForwardBatch {
  seq: number;
  /** epoch ms of the commit */
  committedAt: number;
  readings: ReadingColumns;
}

/** Consecutive batches after a cursor; empty when nothing is owed. */
export interface ForwardPage {
  batches: ForwardBatch[];
  /** readings over all the batches */
  readings: number;
}

export interface ForwardStatus {
  /** the seq of the last batch the upstream acknowledged in full (0 before the first) */
  cursor: number;
  /** readings committed and not yet acknowledged upstream */
  backlogReadings: number;
  backlogBatches: number;
  /** commit time of the oldest batch still owed, or null when none is */
  oldestCommittedAt: number | null;
  /** readings acknowledged upstream since the log began */
  forwardedReadings: number;
  /** readings given up by --forward-max-backlog since the log began */
  droppedReadings: number;
  /** the stable ClientId of the upstream session, kept in the database */
  clientId: string;
}

/**
 * What the forwarder needs from storage. Reads run off the main thread (in
 * SQLite's writer thread); the cursor moves only by advance(), which the
 * forwarder calls after the upstream PUBACKs, in seq order.
 */
export interface ForwardLog {
  /** Batches with seq > afterSeq, oldest first, about maxReadings readings (at least one batch). */
  page(afterSeq: number, maxReadings: number): Promise<ForwardPage>;
  /** Everything up to and including seq was acknowledged upstream: drop it and move the cursor. */
  advance(seq: number): Promise<void>;
  status(): Promise<ForwardStatus>;
}

export interface ForwardLogOptions {
  /** Most readings owed before the oldest batches are dropped to make room; 0: no limit. */
  maxBacklogReadings: number;
}
