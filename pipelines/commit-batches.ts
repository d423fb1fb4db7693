import { mergeMap, type OperatorFunction } from 'rxjs';
import type { WriteBatch, WriteResult } from '../storage/port.js';
import type { ParsedMessage } from './telemetry.js';
import { type DeadLetterOptions, toWriteBatch } from './to-write-batch.js';

export interface SettledBatch {
  messages: ParsedMessage[];
  readings: number;
  deadLetters: number;
  result?: WriteResult;
  error?: Error;
  /** main-thread view: from hand-off to the writer until it answered */
  writeMs: number;
}

export interface CommitBatchesOptions extends DeadLetterOptions {
  write: (batch: WriteBatch) => Promise<WriteResult>;
  /**
   * Batches handed to the writer before the first is answered. The writer
   * commits in arrival order, so more than one keeps it busy while the next
   * batch is encoded, without reordering settlements.
   */
  maxInFlight: number;
  now?: () => number;
}

/** Writes each batch and emits it settled; a failed write is a value, never a stream error. */
export function commitBatches(
  options: CommitBatchesOptions,
): OperatorFunction<ParsedMessage[], SettledBatch> {
  const now = options.now ?? (() => performance.now());
  return mergeMap(async (messages: ParsedMessage[]): Promise<SettledBatch> => {
    const batch = toWriteBatch(messages, options);
    const readings = batch.readings.ts.length;
    const deadLetters = batch.deadLetters.length;
    const started = now();
    try {
      const result = await options.write(batch);
      return { messages, readings, deadLetters, result, writeMs: now() - started };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      return { messages, readings, deadLetters, error, writeMs: now() - started };
    }
  }, options.maxInFlight);
}
