import { Observable, type OperatorFunction } from 'rxjs';
import type { ReadingColumns, WriteBatch, WriteResult } from '../storage/port.js';
import type { IngestMessage, ParsedMessage } from './telemetry.js';
import { type DeadLetterOptions, WriteBatchBuilder } from './to-write-batch.js';

export interface SettledBatch {
  /** the batch's messages, in arrival order, to settle */
  messages: IngestMessage[];
  /** their weight, as CommitBatchesOptions.weight counted it */
  weight: number;
  readings: number;
  /** the batch's readings as written (the analytics score the committed ones) */
  columns: ReadingColumns;
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
      // Batches waiting for the writer, already in columns, with their weight.
      // One that arrives while the last still has room joins it, up to maxReadings.
      const queue: Array<{ builder: WriteBatchBuilder; weight: number }> = [];
      let inFlight = 0;
      let sourceDone = false;

      const enqueue = (messages: ParsedMessage[]) => {
        let weight = 0;
        for (const m of messages) weight += options.weight(m);
        const last = queue.at(-1);
        if (last !== undefined && last.weight + weight <= options.maxReadings) {
          last.builder.add(messages);
          last.weight += weight;
        } else queue.push({ builder: new WriteBatchBuilder(options).add(messages), weight });
      };

      const write = async ({
        builder,
        weight,
      }: {
        builder: WriteBatchBuilder;
        weight: number;
      }): Promise<SettledBatch> => {
        const batch = builder.build();
        const columns = builder.columns();
        const { messages, readings } = builder;
        const deadLetters = batch.deadLetters.length;
        const started = now();
        try {
          const result = await options.write(batch);
          return { messages, weight, readings, columns, deadLetters, result, writeMs: now() - started };
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          return { messages, weight, readings, columns, deadLetters, error, writeMs: now() - started };
        }
      };

      const pump = () => {
        while (inFlight < options.maxInFlight && queue.length > 0) {
          inFlight++;
          // The writer answers in submission order, so these settle in order too.
          void write(queue.shift()!).then((settled) => {
            inFlight--;
            if (subscriber.closed) return;
            subscriber.next(settled);
            pump();
            if (sourceDone && inFlight === 0 && queue.length === 0) subscriber.complete();
          });
        }
      };

      const subscription = source.subscribe({
        next(messages) {
          enqueue(messages);
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
