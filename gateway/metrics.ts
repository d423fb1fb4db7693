import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type ErrorCode, isErrorCode } from '../core/errors.js';
import type { AnalyticsObserver } from '../pipelines/analytics/analytics.js';
import type { SettledBatch } from '../pipelines/commit-batches.js';
import type { IngestObserver } from '../pipelines/ingest-pipeline.js';
import type { ParsedMessage } from '../pipelines/telemetry.js';
import type { WriterLoad } from '../storage/port.js';
import { createBucketHistogram } from './bucket-histogram.js';
import type { EventLoopMonitor } from './event-loop-monitor.js';

/** Running totals for the stats line; prom-client keeps the same facts for scrapers. */
export interface IngestTotals {
  messages: number;
  acked: number;
  readingsStored: number;
  duplicates: number;
  rejected: number;
  deadLetters: number;
  writeFailures: number;
  batches: number;
}

/** Read when /metrics is scraped; each step that owns a source registers it (gateway/steps/). */
export interface MetricsProbes {
  eventLoop: EventLoopMonitor;
  connectedClients: () => number;
  pendingReadings: () => number;
  parkedMessages: () => number;
}

export interface GatewayMetrics {
  registry: Registry;
  totals: IngestTotals;
  observer: IngestObserver;
  /** a connection closed or a delivery dropped by a protective limit (gateway/limits/) */
  limitHit(code: ErrorCode): void;
  /** a CONNECT, publish or subscription refused by authentication or the ACL (gateway/auth/) */
  authRefused(code: ErrorCode): void;
  /** what the analytics (pipelines/analytics/) report */
  analytics: Omit<AnalyticsObserver, 'failed'>;
  /** a QoS 1/2 ack released after `ms` held in the gateway (gateway/ack-latency.ts) */
  ackHeld(ms: number): void;
  /** a publish held because its device or connection was over its rate budget (gateway/limits/publish-throttle.ts) */
  rateLimitHeld(scope: 'device' | 'connection'): void;
  /** Adds gauge sources; until one is given its gauge reads 0. */
  probe(probes: Partial<MetricsProbes>): void;
  /** A worker pool's utilisation (0..1), reported under its name. */
  probePool(pool: string, utilization: () => number): void;
  /** The storage writer's work over one stats window (StorageWriter.takeLoad). */
  writerLoad(load: WriterLoad): void;
}

type Registers = Registry[];

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const totals: IngestTotals = {
    messages: 0,
    acked: 0,
    readingsStored: 0,
    duplicates: 0,
    rejected: 0,
    deadLetters: 0,
    writeFailures: 0,
    batches: 0,
  };
  const probes: Partial<MetricsProbes> = {};
  const pools = new Map<string, () => number>();
  const ingest = ingestInstruments(registers);
  const refusals = refusalCounters(registers);
  const analytics = analyticsCounters(registers);
  registerGauges(registers, probes, pools);
  // process_* and nodejs_* (RSS, heap, GC, handles, event-loop lag), as every Node service exposes them.
  collectDefaultMetrics({ register: registry });
  const writer = writerInstruments(registers);
  return {
    registry,
    totals,
    observer: ingestObserver(ingest, totals),
    limitHit: (code) => refusals.limitHits.inc({ code }),
    ackHeld: (ms) => ingest.ackHoldSeconds.observe(ms / 1000),
    rateLimitHeld: (scope) => refusals.rateHoldsBy[scope].inc(),
    authRefused: (code) => refusals.authRefusals.inc({ code }),
    analytics: {
      late: (n) => analytics.lateReadings.inc(n),
      skipped: (n) => analytics.skippedReadings.inc(n),
      dropped: (n) => analytics.droppedReadings.inc(n),
      evicted: (n) => analytics.evictedSeries.inc(n),
      anomalies: (n) => analytics.anomalies.inc(n),
      alerts: (state, n) => analytics.alerts.inc({ state }, n),
      alertDelay: (ms) => analytics.alertDelay.observe(ms / 1000),
    },
    probe: (more) => Object.assign(probes, more),
    probePool: (pool, utilization) => pools.set(pool, utilization),
    writerLoad: (load) => {
      writer.busy.inc(load.busyMs / 1000);
      writer.longest.set(load.longestMs / 1000);
      writer.rollupLongest.set(load.refreshLongestMs / 1000);
      writer.rewritten.minute.inc(load.refresh.minuteRows);
      writer.rewritten.hour.inc(load.refresh.hourRows);
      writer.rewriteReadings.inc(load.refresh.readings);
    },
  };
}

/** The storage writer's side: what an ack may wait behind, and the re-aggregation's work. */
function writerInstruments(registers: Registers) {
  const rewritten = new Counter({
    name: 'gateway_rollup_rows_rewritten_total',
    help: 'Rollup rows rewritten from raw readings (1m) or from their minutes (1h)',
    labelNames: ['tier'],
    registers,
  });
  return {
    busy: new Counter({
      name: 'gateway_writer_busy_seconds_total',
      help: 'Time the storage writer spent in transactions and re-aggregation slices',
      registers,
    }),
    longest: new Gauge({
      name: 'gateway_writer_longest_transaction_seconds',
      help: 'The longest writer transaction or re-aggregation slice in the last stats window',
      registers,
    }),
    rollupLongest: new Gauge({
      name: 'gateway_rollup_longest_slice_seconds',
      help: 'The longest re-aggregation slice in the last stats window',
      registers,
    }),
    rewritten: { minute: rewritten.labels('1m'), hour: rewritten.labels('1h') },
    rewriteReadings: new Counter({
      name: 'gateway_rollup_readings_read_total',
      help: 'Raw readings read to rewrite stale minutes',
      registers,
    }),
  };
}

type IngestInstruments = ReturnType<typeof ingestInstruments>;

function ingestInstruments(registers: Registers) {
  const messages = new Counter({
    name: 'gateway_messages_total',
    help: 'Telemetry messages received',
    labelNames: ['qos'],
    registers,
  });
  return {
    // Bound once: prom-client hashes a label set on every inc(), and this one runs per message.
    messagesByQos: [messages.labels('0'), messages.labels('1'), messages.labels('2')] as const,
    acks: new Counter({
      name: 'gateway_acks_total',
      help: 'QoS 1/2 messages acknowledged after commit',
      registers,
    }),
    stored: new Counter({
      name: 'gateway_readings_stored_total',
      help: 'Readings committed',
      registers,
    }),
    duplicates: new Counter({
      name: 'gateway_readings_duplicate_total',
      help: 'Readings already stored (retransmits)',
      registers,
    }),
    rejections: new Counter({
      name: 'gateway_rejections_total',
      help: 'Rejected readings or messages, by reason code',
      labelNames: ['code'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'gateway_dead_letters_total',
      help: 'Dead-letter rows committed',
      registers,
    }),
    storageErrors: new Counter({
      name: 'gateway_storage_errors_total',
      help: 'Failed group commits, by code',
      labelNames: ['code'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'gateway_batch_readings',
      help: 'Readings per group commit',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'gateway_commit_seconds',
      help: 'Time inside the write transaction',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'gateway_write_seconds',
      help: 'Hand-off to writer until commit answered (main thread view)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    // Observed once per QoS 1/2 message, not per batch: the cheap kind.
    ackHoldSeconds: createBucketHistogram({
      name: 'gateway_ack_hold_seconds',
      help: 'PUBLISH received until its PUBACK/PUBREC released (decode, batch, group commit)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}

function refusalCounters(registers: Registers) {
  const limitHits = new Counter({
    name: 'gateway_limit_events_total',
    help: 'Connections refused or closed, and deliveries dropped, by a protective limit, by code',
    labelNames: ['code'],
    registers,
  });
  const rateHolds = new Counter({
    name: 'gateway_rate_limit_holds_total',
    help: 'Publishes held (not refused) because their device or connection was over its rate budget, by the budget',
    labelNames: ['scope'],
    registers,
  });
  return {
    limitHits,
    // Bound once: this runs per held message.
    rateHoldsBy: { device: rateHolds.labels('device'), connection: rateHolds.labels('connection') },
    authRefusals: new Counter({
      name: 'gateway_auth_refusals_total',
      help: 'CONNECTs, publishes and subscriptions refused by authentication or the ACL, by code',
      labelNames: ['code'],
      registers,
    }),
  };
}

function analyticsCounters(registers: Registers) {
  return {
    lateReadings: new Counter({
      name: 'gateway_analytics_late_readings_total',
      help: "Readings older than their series' newest scored one: judged against the baseline without updating it",
      registers,
    }),
    skippedReadings: new Counter({
      name: 'gateway_analytics_skipped_readings_total',
      help: 'Readings left out of anomaly detection as probable retransmits',
      registers,
    }),
    droppedReadings: new Counter({
      name: 'gateway_analytics_dropped_readings_total',
      help: 'Committed readings not scored: the analytics were too far behind, or every series slot was in use',
      registers,
    }),
    evictedSeries: new Counter({
      name: 'gateway_analytics_evicted_series_total',
      help: 'Series whose detector state was dropped for a new series (--max-series-in-memory)',
      registers,
    }),
    anomalies: new Counter({
      name: 'gateway_anomalies_total',
      help: 'Readings judged anomalous (the first of a run raises an alert)',
      registers,
    }),
    alerts: new Counter({
      name: 'gateway_alerts_total',
      help: 'Alert transitions stored and published on alerts/{deviceId}, by state (raised, cleared)',
      labelNames: ['state'],
      registers,
    }),
    alertDelay: new Histogram({
      name: 'gateway_alert_delay_seconds',
      help: "From the release of a batch's acks to the publish of an alert its readings raised or cleared",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
  };
}

function registerGauges(
  registers: Registers,
  probes: Partial<MetricsProbes>,
  pools: ReadonlyMap<string, () => number>,
): void {
  new Gauge({
    name: 'gateway_worker_pool_utilization',
    help: 'Share of a worker pool in use (piscina utilization), by pool',
    labelNames: ['pool'],
    registers,
    collect() {
      for (const [pool, utilization] of pools) this.set({ pool }, utilization());
    },
  });
  new Gauge({
    name: 'gateway_event_loop_delay_seconds',
    help: 'Event-loop delay over the last stats window',
    labelNames: ['quantile'],
    registers,
    collect() {
      const w = probes.eventLoop?.last();
      if (w === undefined) return;
      this.set({ quantile: '0.5' }, w.p50Ms / 1000);
      this.set({ quantile: '0.99' }, w.p99Ms / 1000);
      this.set({ quantile: '1' }, w.maxMs / 1000);
    },
  });
  new Gauge({
    name: 'gateway_event_loop_cpu_wait_seconds',
    help: 'Over the last stats window, how long the main thread was ready to run but waited for a core (Linux): the total and the longest wait within one 20 ms tick',
    labelNames: ['stat'],
    registers,
    collect() {
      const split = probes.eventLoop?.last().split;
      if (split === undefined) return;
      this.set({ stat: 'sum' }, split.cpuWaitMs / 1000);
      this.set({ stat: 'max' }, split.cpuWaitMaxMs / 1000);
    },
  });
  new Gauge({
    name: 'gateway_event_loop_busy_max_seconds',
    help: 'Over the last stats window, the longest event-loop stall that was not a wait for a core: the loop itself was busy (Linux)',
    registers,
    collect() {
      const split = probes.eventLoop?.last().split;
      if (split !== undefined) this.set(split.busyMaxMs / 1000);
    },
  });
  new Gauge({
    name: 'gateway_connected_clients',
    help: 'Connected MQTT clients',
    registers,
    collect() {
      this.set(probes.connectedClients?.() ?? 0);
    },
  });
  new Gauge({
    name: 'gateway_write_queue_readings',
    help: 'Readings admitted and not yet committed',
    registers,
    collect() {
      this.set(probes.pendingReadings?.() ?? 0);
    },
  });
  new Gauge({
    name: 'gateway_parked_messages',
    help: 'Messages waiting for the write queue to fall below its high-water mark',
    registers,
    collect() {
      this.set(probes.parkedMessages?.() ?? 0);
    },
  });
}

function ingestObserver(m: IngestInstruments, totals: IngestTotals): IngestObserver {
  // Counted per message, handed to prom-client per batch: its inc() allocates.
  // Every parsed message is in a settled batch, so the counts catch up there.
  const byQos = [0, 0, 0];
  return {
    parsed(p: ParsedMessage) {
      totals.messages++;
      byQos[p.message.qos]!++;
      if (p.rejectedCount === 0) return;
      totals.rejected += p.rejectedCount;
      // Only the kept rejections carry codes; the rest of a huge batch is
      // counted under the first code so the totals still add up.
      let counted = 0;
      for (const r of p.rejections) {
        m.rejections.inc({ code: r.code });
        counted++;
      }
      const rest = p.rejectedCount - counted;
      const first = p.rejections[0]?.code;
      if (rest > 0 && first !== undefined) m.rejections.inc({ code: first }, rest);
    },
    settled(s: SettledBatch) {
      for (const qos of [0, 1, 2] as const) {
        if (byQos[qos] === 0) continue;
        m.messagesByQos[qos].inc(byQos[qos]);
        byQos[qos] = 0;
      }
      totals.batches++;
      m.writeSeconds.observe(s.writeMs / 1000);
      m.batchSize.observe(s.readings);
      if (s.error !== undefined) {
        totals.writeFailures++;
        const code = (s.error as { code?: unknown }).code;
        m.storageErrors.inc({ code: isErrorCode(code) ? code : 'GW_ERR_STORAGE_WRITE' });
        return;
      }
      const r = s.result;
      if (r === undefined) return;
      totals.readingsStored += r.inserted;
      totals.duplicates += r.duplicates;
      totals.deadLetters += r.deadLetters;
      m.stored.inc(r.inserted);
      m.duplicates.inc(r.duplicates);
      m.deadLetters.inc(r.deadLetters);
      m.commitSeconds.observe(r.commitMs / 1000);
      let qosAcked = 0;
      for (const message of s.messages) if (message.qos > 0) qosAcked++;
      totals.acked += qosAcked;
      m.acks.inc(qosAcked);
    },
  };
}
