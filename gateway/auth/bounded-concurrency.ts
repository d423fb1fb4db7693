// Runs at most `concurrency` tasks at once and queues at most `maxQueued`
// more; past that, run() refuses at once. Used for scrypt verifications: each
// costs tens of ms of CPU on libuv's pool, and on a 2-core machine four of
// them at once would take the core the event loop needs.

export interface BoundedConcurrency {
  /** undefined when the queue is full: the caller refuses instead of waiting */
  run<T>(task: () => Promise<T>): Promise<T> | undefined;
  readonly running: number;
  readonly queued: number;
}

export function createBoundedConcurrency(concurrency: number, maxQueued: number): BoundedConcurrency {
  let running = 0;
  const queue: Array<() => void> = [];
  const release = () => {
    const next = queue.shift();
    if (next === undefined) running--;
    else next();
  };
  return {
    run(task) {
      if (running < concurrency) {
        running++;
        return task().finally(release);
      }
      if (queue.length >= maxQueued) return undefined;
      return new Promise<void>((resolve) => queue.push(resolve)).then(() => task().finally(release));
    },
    get running() {
      return running;
    },
    get queued() {
      return queue.length;
    },
  };
}
