import { asyncScheduler, map, Observable, type SchedulerLike, type Subscriber, tap } from 'rxjs';
import { gatewayError } from '../core/errors.js';
import type { WriteBatch, WriteResult } from '../storage/port.js';
import { parseAdapted } from './adapters/adapt-message.js';
import { batchByWeight } from './batch-by-weight.js';
import { commitBatches, type SettledBatch } from './commit-batches.js';
import { createFlatJsonReader } from './flat-json.js';
import { parseTelemetry } from './parse-telemetry.js';
import type { IngestMessage, ParsedMessage, ValidationLimits } from './telemetry.js';

export interface IngestObserver {
  parsed(message: ParsedMessage): void;
  settled(batch: SettledBatch): void;
}

export interface IngestPipelineOptions {
  write: (batch: WriteBatch) => Promise<WriteResult>;
  limits: ValidationLimits;
  batchMaxReadings: number;
  batchMaxDelayMs: number;
  writeMaxInFlight: number;
  /** readings admitted but not yet settled before new messages are parked */
  highWaterReadings: number;
  deadLetterPayloadBytes: number;
  observer: IngestObserver;
  scheduler?: SchedulerLike;
}

export interface IngestPipeline {
  /**
   * Offers a message. `admitted` runs when the pipeline takes it: at once
   * below the high-water mark, later otherwise. Holding it is what pushes
   * back on the socket for QoS 0, where there is no ack to hold.
   */
  offer(message: IngestMessage, admitted: () => void): void;
  readonly pendingReadings: number;
  readonly parkedMessages: number;
  /** Admits everything parked, flushes, and resolves once every batch is settled. */
  drain(): Promise<void>;
}

// decode → validate → normalise (parseTelemetry) → batch → write → settle.
// One stream, so settlement follows arrival order and per-device order holds.
export function createIngestPipeline(options: IngestPipelineOptions): IngestPipeline {
  // The pipeline's one subscriber, fed directly: a Subject walks its observer
  // list with an iterator on every next(), an object per message.
  let sink: Subscriber<IngestMessage> | undefined;
  const input = new Observable<IngestMessage>((subscriber) => {
    sink = subscriber;
  });
  const parked: Array<{ message: IngestMessage; admitted: () => void }> = [];
  const lowWater = Math.floor(options.highWaterReadings / 2);
  let pending = 0;
  let draining = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  const weight = (p: ParsedMessage) => Math.max(1, p.readings.length);
  const flat = createFlatJsonReader();

  const admit = (message: IngestMessage, admitted: () => void) => {
    sink!.next(message);
    admitted();
  };

  const release = () => {
    while (parked.length > 0 && (draining || pending <= lowWater)) {
      const next = parked.shift()!;
      admit(next.message, next.admitted);
    }
  };

  input
    .pipe(
      // Topics outside devices/ come with the payload adapter that owns them.
      map((m) =>
        m.adapter === undefined
          ? parseTelemetry(m, options.limits, flat)
          : parseAdapted(m, m.adapter, options.limits),
      ),
      tap((p) => {
        pending += weight(p);
        options.observer.parsed(p);
      }),
      batchByWeight({
        maxWeight: options.batchMaxReadings,
        maxDelayMs: options.batchMaxDelayMs,
        weight,
        scheduler: options.scheduler ?? asyncScheduler,
      }),
      commitBatches({
        write: options.write,
        maxInFlight: options.writeMaxInFlight,
        maxReadings: options.batchMaxReadings,
        weight,
        maxPayloadBytes: options.deadLetterPayloadBytes,
      }),
    )
    .subscribe({
      next(settled) {
        pending -= settled.weight;
        // One clock reading for the batch: its messages settle in this one loop.
        const at = performance.now();
        for (const m of settled.messages) m.settle(settled.error, at);
        options.observer.settled(settled);
        release();
      },
      complete: () => resolveDone(),
    });

  return {
    offer(message, admitted) {
      if (draining) {
        message.settle(gatewayError('GW_ERR_SHUTTING_DOWN'));
        return;
      }
      if (pending >= options.highWaterReadings || parked.length > 0) {
        parked.push({ message, admitted });
        return;
      }
      admit(message, admitted);
    },
    get pendingReadings() {
      return pending;
    },
    get parkedMessages() {
      return parked.length;
    },
    drain() {
      if (!draining) {
        draining = true;
        release();
        sink!.complete();
      }
      return done;
    },
  };
}
