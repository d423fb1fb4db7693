import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';

export interface BatchByWeightOptions<T> {
  /** emit as soon as the buffered weight reaches this */
  maxWeight: number;
  /** emit at most this long after the first item entered an empty buffer */
  maxDelayMs: number;
  weight: (item: T) => number;
  scheduler?: SchedulerLike;
}

/**
 * Group commit's batcher. Unlike bufferTime, the timer starts with the first
 * buffered item rather than on a fixed grid, and an idle stream emits nothing,
 * so a lone reading waits at most maxDelayMs and a busy stream is cut by weight
 * (readings), not by message count.
 */
export function batchByWeight<T>(options: BatchByWeightOptions<T>): OperatorFunction<T, T[]> {
  const { maxWeight, maxDelayMs, weight, scheduler = asyncScheduler } = options;
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let buffered = 0;
      let timer: Subscription | undefined;

      const flush = () => {
        timer?.unsubscribe();
        timer = undefined;
        if (buffer.length === 0) return;
        const batch = buffer;
        buffer = [];
        buffered = 0;
        subscriber.next(batch);
      };

      const subscription = source.subscribe({
        next(item) {
          buffer.push(item);
          buffered += weight(item);
          if (buffered >= maxWeight) flush();
          else if (timer === undefined) timer = scheduler.schedule(flush, maxDelayMs);
        },
        error(err) {
          timer?.unsubscribe();
          buffer = [];
          subscriber.error(err);
        },
        // Completion is how shutdown drains: whatever is buffered still goes out.
        complete() {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
        buffer = [];
      };
    });
}
