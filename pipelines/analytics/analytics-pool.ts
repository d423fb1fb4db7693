// The worker pool the analytics run in (piscina). Tasks carry columnar typed
// arrays whose buffers are moved to the worker, not copied.
import { Piscina } from 'piscina';
import { resolveWorkerScript, WORKER_RESOURCE_LIMITS } from '../../core/worker-script.js';
import type { ScoreResult, ScoreTask } from '../analytics-workers/score-readings.js';

export interface AnalyticsPool {
  run(task: ScoreTask): Promise<ScoreResult>;
  /** share of the pool's capacity in use, 0..1 (piscina's utilization) */
  readonly utilization: number;
  close(): Promise<void>;
}

export function createAnalyticsPool(options: { threads: number }): AnalyticsPool {
  const pool = new Piscina({
    resourceLimits: WORKER_RESOURCE_LIMITS,
    filename: resolveWorkerScript(import.meta.url, 'pipelines/analytics-workers/analytics-worker.js').href,
    minThreads: 1,
    maxThreads: options.threads,
    name: 'default',
  });
  return {
    run(task) {
      const transferList = new Set<ArrayBuffer>();
      for (const column of [task.slot, task.ts, task.value, task.reset, task.state]) {
        if (column.buffer instanceof ArrayBuffer) transferList.add(column.buffer);
      }
      return pool.run(task, { transferList: [...transferList] }) as Promise<ScoreResult>;
    },
    get utilization() {
      return pool.utilization;
    },
    close: () => pool.destroy(),
  };
}
