import { from, Observable, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

/**
 * Like concatMap, but what arrives while a projection runs is merged into
 * one pending value instead of queued one by one: at most one projection
 * runs, at most one waits, and it starts as soon as the running one
 * completes. Order is kept (merge(a, b) must keep a before b), so a stateful
 * consumer sees every value once, in order, in as few calls as its speed
 * allows: the analytics score every committed batch in order, one worker
 * task at a time, however many batches commit while a task runs.
 */
export function coalesceWhileBusy<T, R>(
  merge: (pending: T, next: T) => T,
  project: (value: T) => ObservableInput<R>,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let inner: Subscription | undefined;
      let pending: { value: T } | undefined;
      let sourceDone = false;

      const run = (value: T) => {
        let done = false;
        const subscription = from(project(value)).subscribe({
          next: (r) => subscriber.next(r),
          error: (err) => subscriber.error(err),
          complete() {
            done = true;
            inner = undefined;
            if (pending !== undefined) {
              const next = pending.value;
              pending = undefined;
              run(next);
            } else if (sourceDone) subscriber.complete();
          },
        });
        // A synchronous projection has already completed (and maybe started the next).
        if (!done) inner = subscription;
      };

      const subscription = source.subscribe({
        next(value) {
          if (inner === undefined) run(value);
          else pending = { value: pending === undefined ? value : merge(pending.value, value) };
        },
        error: (err) => subscriber.error(err),
        // Completion is how shutdown drains: the running and the pending projection still finish.
        complete() {
          sourceDone = true;
          if (inner === undefined && pending === undefined) subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        inner?.unsubscribe();
      };
    });
}
