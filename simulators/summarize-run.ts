// Raw facts of a finished run → the published summary.

import { gatewayError } from '../core/errors.js';
import type { Counters, LatencySummary } from './ack-stats.js';
import type { SimOptions } from './sim-options.js';
import type { AnomalyRecord, DropoutRecord, SimSummary } from './sim-summary.js';

export interface RunFacts {
  options: SimOptions;
  counters: Counters;
  latency: LatencySummary;
  errors: Record<string, number>;
  unsentReadings: number;
  anomalies: { count: number; list: AnomalyRecord[] };
  dropouts: { count: number; list: DropoutRecord[] };
  churned: number;
  peakConnected: number;
  allConnectedAfterMs: number | null;
  publishingMs: number;
  wallMs: number;
  cpu: NodeJS.CpuUsage;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

export function buildSummary(f: RunFacts): SimSummary {
  const { options: o, counters: c } = f;
  const acks = o.qos > 0;
  const unacked = acks ? c.messagesSent - c.messagesAcked : null;
  const publishingS = Math.max(0.001, f.publishingMs / 1000);
  const summary: SimSummary = {
    ok: !unacked,
    url: o.url,
    devices: o.devices,
    qos: o.qos,
    rate: o.rate,
    batch: o.batch,
    metrics: o.metrics,
    seed: o.seed,
    durationS: round1(f.wallMs / 1000),
    connected: {
      atEnd: c.connected,
      peak: f.peakConnected,
      allConnectedAfterS: f.allConnectedAfterMs === null ? null : round1(f.allConnectedAfterMs / 1000),
    },
    connections: {
      connects: c.connects,
      reconnects: c.reconnects,
      disconnects: c.disconnects,
      dropouts: f.dropouts.count,
      churned: f.churned,
    },
    messages: {
      sent: c.messagesSent,
      acked: acks ? c.messagesAcked : null,
      unacked,
      failed: c.messagesFailed,
      replayed: c.replayMessages,
    },
    readings: {
      sent: c.readingsSent,
      acked: acks ? c.readingsAcked : null,
      replayed: c.replayReadings,
      overflowed: c.readingsOverflowed,
      unsentAtEnd: f.unsentReadings,
    },
    ratesPerS: {
      sent: Math.round(c.messagesSent / publishingS),
      acked: acks ? Math.round(c.messagesAcked / publishingS) : null,
    },
    ackLatencyMs: acks ? f.latency : null,
    errors: f.errors,
    anomalies: {
      count: f.anomalies.count,
      truncated: f.anomalies.count > f.anomalies.list.length,
      list: f.anomalies.list,
    },
    dropouts: {
      count: f.dropouts.count,
      truncated: f.dropouts.count > f.dropouts.list.length,
      list: f.dropouts.list,
    },
    cpu: {
      percent: round1(((f.cpu.user + f.cpu.system) / 1000 / f.wallMs) * 100),
      userMs: Math.round(f.cpu.user / 1000),
      systemMs: Math.round(f.cpu.system / 1000),
    },
    maxLagMs: c.maxLagMs,
    rssMb: Math.round(process.memoryUsage.rss() / 1048576),
  };
  if (unacked) {
    const err = gatewayError('GW_ERR_SIM_UNACKED', unacked);
    summary.error = { code: err.code, message: err.message };
  }
  return summary;
}
