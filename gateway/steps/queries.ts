import { openQueryService, type PooledQueryService } from '../../storage/open-storage.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Started } from './lifecycle.js';

/** Stored data and rollups, queried off the main thread; SQLite or PostgreSQL, as --db names it. */
export function queriesStep(deps: {
  config: Pick<GatewayConfig, 'db' | 'queryThreads' | 'queryCpuPercent'>;
  metrics: Pick<GatewayMetrics, 'probePool'>;
}): Started<{ query: PooledQueryService }> {
  const { config } = deps;
  const query = openQueryService(config.db, {
    threads: config.queryThreads,
    cpuShare: config.queryCpuPercent / 100,
  });
  deps.metrics.probePool('query', () => query.utilization);
  return { provides: { query }, stop: { close: () => query.close() } };
}
