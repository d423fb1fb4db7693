import { Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { ColumnBuffer } from './column-buffer.js';
import type { ReadingChunk } from './committed-readings.js';

export const MINUTE_MS = 60_000;

/**
 * The minute boundary before which minutes are closed at `now`: a minute
 * closes emitDelayMs after it ends. Also what start-up recovery records as the
 * analytics watermark, so both agree on which minutes a new run treats as closed.
 */
export function closedMinutesBefore(now: number, emitDelayMs: number): number {
  return Math.floor((now - emitDelayMs) / MINUTE_MS) * MINUTE_MS;
}

/**
 * `close`: every reading of one minute, once the minute is over (plus
 * emitDelayMs for stragglers); anomaly detection runs on these in order.
 * `late`: readings that arrived after their minute closed but within the
 * lateness; their states are merged into the stored buckets as corrections.
 */
export interface WindowBatch extends ReadingChunk {
  kind: 'close' | 'late';
  /** the minute's start, for `close` */
  minute?: number;
}

export interface MinuteWindowOptions {
  /** a reading whose minute ended longer ago than this is too late for rollups */
  latenessMs: number;
  /** a minute closes this long after it ends */
  emitDelayMs: number;
  /** how often closed minutes and corrections are emitted */
  tickMs: number;
  scheduler: SchedulerLike;
  /** readings too late for rollups (still stored raw) */
  tooLate: (count: number) => void;
}

/**
 * Windows per (series, minute) by processing time: the scheduler's clock, not
 * the devices', decides when a minute is over, so one device with a clock
 * ahead cannot make everyone else's readings late. The buffers are plain
 * columns, one per open minute: appending is all the main thread does per
 * reading; the statistics are computed in the worker pool.
 */
export function minuteWindows(options: MinuteWindowOptions): OperatorFunction<ReadingChunk, WindowBatch> {
  const { scheduler, latenessMs, emitDelayMs } = options;
  return (source) =>
    new Observable<WindowBatch>((subscriber) => {
      const open = new Map<number, ColumnBuffer>();
      const late = new ColumnBuffer();
      const closedBefore = () => closedMinutesBefore(scheduler.now(), emitDelayMs);
      let closed = closedBefore();

      const emitClosed = (upTo: number) => {
        const due = [...open.keys()].filter((m) => m < upTo).sort((a, b) => a - b);
        for (const minute of due) {
          const batch = open.get(minute)!.take();
          open.delete(minute);
          subscriber.next({ kind: 'close', minute, ...batch });
        }
        if (late.length > 0) subscriber.next({ kind: 'late', ...late.take() });
      };

      const tick = scheduler.schedule(function (this: { schedule(state: undefined, delay: number): void }) {
        closed = Math.max(closed, closedBefore());
        emitClosed(closed);
        this.schedule(undefined, options.tickMs);
      }, options.tickMs);

      const subscription = source.subscribe({
        next(chunk) {
          const now = scheduler.now();
          let tooLate = 0;
          let buffer: ColumnBuffer | undefined;
          let bufferMinute = Number.NaN;
          for (let i = 0; i < chunk.ts.length; i++) {
            const ts = chunk.ts[i]!;
            const minute = Math.floor(ts / MINUTE_MS) * MINUTE_MS;
            if (minute + MINUTE_MS + latenessMs <= now) {
              tooLate++;
              continue;
            }
            if (minute < closed) {
              late.push(chunk.series[i]!, ts, chunk.value[i]!);
              continue;
            }
            if (minute !== bufferMinute) {
              buffer = open.get(minute);
              if (buffer === undefined) {
                buffer = new ColumnBuffer();
                open.set(minute, buffer);
              }
              bufferMinute = minute;
            }
            buffer!.push(chunk.series[i]!, ts, chunk.value[i]!);
          }
          if (tooLate > 0) options.tooLate(tooLate);
        },
        error: (err) => subscriber.error(err),
        complete() {
          // Shutdown: whatever is open is as complete as it will get.
          emitClosed(Number.POSITIVE_INFINITY);
          subscriber.complete();
        },
      });
      return () => {
        tick.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
