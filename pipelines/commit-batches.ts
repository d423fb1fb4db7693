import { Observable, type OperatorFunction } from 'rxjs';
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
  /** batches waiting for the writer are merged up to this many readings */
  maxReadings: number;
  weight: (message: ParsedMessage) => number;
  now?: () => number;
}

/**
 * Writes batches and emits them settled, in order; a failed write is a value,
 * never a stream error. This is where group commit adapts to load: while the
 * writer is busy, batches that arrive queue here and go out merged as one
 * transaction when a slot frees, so a short batching delay costs no
 * throughput under saturation.
 */
export function commitBatches(
  options: CommitBatchesOptions,
): OperatorFunction<ParsedMessage[], SettledBatch> {
  const now = options.now ?? (() => performance.now());
  return (source) =>
    new Observable<SettledBatch>((subscriber) => {
      const queue: ParsedMessage[][] = [];
      let inFlight = 0;
      let sourceDone = false;

      const takeMerged = (): ParsedMessage[] => {
        const merged = queue.shift()!;
        let weight = 0;
        for (const m of merged) weight += options.weight(m);
        while (queue.length > 0) {
          let next = 0;
          for (const m of queue[0]!) next += options.weight(m);
          if (weight + next > options.maxReadings) break;
          merged.push(...queue.shift()!);
          weight += next;
        }
        return merged;
      };

      const write = async (messages: ParsedMessage[]): Promise<SettledBatch> => {
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
      };

      const pump = () => {
        while (inFlight < options.maxInFlight && queue.length > 0) {
          inFlight++;
          // The writer answers in submission order, so these settle in order too.
          void write(takeMerged()).then((settled) => {
            inFlight--;
            if (subscriber.closed) return;
            subscriber.next(settled);
            pump();
            if (sourceDone && inFlight === 0 && queue.length === 0) subscriber.complete();
          });
        }
      };

      const subscription = source.subscribe({
        next(batch) {
          queue.push(batch);
          pump();
        },
        error: (err) => subscriber.error(err),
        complete() {
          sourceDone = true;
          if (inFlight === 0 && queue.length === 0) subscriber.complete();
        },
      });
      return () => subscription.unsubscribe();
    });
}
