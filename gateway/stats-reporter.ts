import { memoryUsage } from 'node:process';
import type { Logger } from 'pino';
import type { WriterLoad } from '../storage/port.js';
import type { AckLatency } from './ack-latency.js';
import type { EventLoopMonitor } from './event-loop-monitor.js';
import type { IngestTotals } from './metrics.js';

export interface StatsReporterDeps {
  logger: Logger;
  intervalMs: number;
  totals: IngestTotals;
  eventLoop: EventLoopMonitor;
  /** QoS 1/2 acks as the gateway held them; absent: not reported */
  ackLatency?: AckLatency;
  connectedClients: () => number;
  pendingReadings: () => number;
  /** the storage writer's work since the last call (StorageWriter.takeLoad) */
  writerLoad?: () => WriterLoad;
}

/** The periodic one-line health of ingest: rates over the window, and event-loop delay. */
export function createStatsReporter(deps: StatsReporterDeps) {
  let last = { ...deps.totals };
  let lastAt = performance.now();
  const round = (n: number) => Math.round(n * 100) / 100;
  const timer = setInterval(() => {
    const now = performance.now();
    const seconds = (now - lastAt) / 1000;
    const t = deps.totals;
    const loop = deps.eventLoop.rotate();
    const held = deps.ackLatency?.rotate();
    const writer = deps.writerLoad?.();
    const memory = memoryUsage();
    deps.logger.info(
      {
        stats: {
          clients: deps.connectedClients(),
          msgsPerSec: round((t.messages - last.messages) / seconds),
          readingsPerSec: round((t.readingsStored - last.readingsStored) / seconds),
          acksPerSec: round((t.acked - last.acked) / seconds),
          rejected: t.rejected - last.rejected,
          duplicates: t.duplicates - last.duplicates,
          writeFailures: t.writeFailures - last.writeFailures,
          batches: t.batches - last.batches,
          queue: deps.pendingReadings(),
          eventLoopP50Ms: round(loop.p50Ms),
          eventLoopP99Ms: round(loop.p99Ms),
          eventLoopMaxMs: round(loop.maxMs),
          ...(loop.split === undefined
            ? {}
            : {
                // A stall is either the loop being busy or the thread waiting
                // for a core that other threads or processes held (gateway/cpu-wait.ts).
                eventLoopBusyMaxMs: round(loop.split.busyMaxMs),
                cpuWaitMs: round(loop.split.cpuWaitMs),
                cpuWaitMaxMs: round(loop.split.cpuWaitMaxMs),
              }),
          ...(held === undefined || held.count === 0
            ? {}
            : {
                ackHoldP50Ms: round(held.p50Ms),
                ackHoldP99Ms: round(held.p99Ms),
                ackHoldMaxMs: round(held.maxMs),
              }),
          ...(writer === undefined
            ? {}
            : {
                // The writer's share of the window spent in transactions and
                // re-aggregation slices, and its longest one: what an ack may wait behind.
                writerBusyPct: round((writer.busyMs / (now - lastAt)) * 100),
                writerLongestMs: round(writer.longestMs),
                rollupLongestMs: round(writer.refreshLongestMs),
                rollupMinuteRows: writer.refresh.minuteRows,
                rollupHourRows: writer.refresh.hourRows,
                ...(writer.heapUsedMb === undefined ? {} : { writerHeapMb: round(writer.heapUsedMb) }),
              }),
          rssMb: round(memory.rss / 2 ** 20),
          heapUsedMb: round(memory.heapUsed / 2 ** 20),
        },
      },
      'stats',
    );
    last = { ...t };
    lastAt = now;
  }, deps.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
