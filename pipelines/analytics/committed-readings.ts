// The analytics tap: readings leave the ingest pipeline only once their
// write has committed. Tapping after commit rather than after validation
// means a reading whose write failed (and whose client will resend it) is
// never scored, and the tap runs after the settle that released the acks,
// so analytics can never delay one.

import type { SettledBatch } from '../commit-batches.js';
import type { SeriesSlots } from './series-slots.js';

/** Committed readings of one batch, columnar, named by series slot. */
export interface ReadingChunk {
  slot: Uint32Array;
  ts: Float64Array;
  value: Float64Array;
  /** when the batch's acks were released (the clock of AnalyticsOptions.now) */
  ackedAt: number;
}

export interface ChunkOutcome {
  chunk: ReadingChunk;
  /** readings left out as probable retransmits */
  skipped: number;
  /** readings left out because every series slot is out with a task */
  unslotted: number;
}

/**
 * The storage reports how many readings of a batch were duplicates, not
 * which. Usually none are; when some are, a reading no newer than the newest
 * one this series already handed to the analytics is taken for a retransmit
 * and left out, so a resend after a lost PUBACK is not scored twice.
 * `task` is the task the readings will travel in; tasks up to `finished`
 * have come back (series-slots.ts).
 */
export function committedReadings(
  settled: SettledBatch,
  slots: SeriesSlots,
  at: { task: number; finished: number; ackedAt: number },
): ChunkOutcome | undefined {
  if (settled.error !== undefined || settled.result === undefined || settled.result.inserted === 0) {
    return undefined;
  }
  const suspectDuplicates = settled.result.duplicates > 0;
  const {
    devices,
    deviceNumbers,
    metrics,
    deviceIndex,
    metricIndex,
    ts: inTs,
    value: inValue,
  } = settled.columns;
  const n = inTs.length;
  const slot = new Uint32Array(n);
  const ts = new Float64Array(n);
  const value = new Float64Array(n);
  let row = 0;
  let skipped = 0;
  let unslotted = 0;
  for (let i = 0; i < n; i++) {
    const d = deviceIndex[i]!;
    const s = slots.slot(
      devices[d]!,
      metrics[metricIndex[i]!]!,
      at.task,
      at.finished,
      deviceNumbers === undefined ? -1 : deviceNumbers[d]!,
    );
    if (s < 0) {
      unslotted++;
      continue;
    }
    const readingTs = inTs[i]!;
    const seen = slots.newest(s);
    if (suspectDuplicates && readingTs <= seen) {
      skipped++;
      continue;
    }
    if (readingTs > seen) slots.setNewest(s, readingTs);
    slot[row] = s;
    ts[row] = readingTs;
    value[row] = inValue[i]!;
    row++;
  }
  return {
    chunk: {
      slot: slot.subarray(0, row),
      ts: ts.subarray(0, row),
      value: value.subarray(0, row),
      ackedAt: at.ackedAt,
    },
    skipped,
    unslotted,
  };
}
