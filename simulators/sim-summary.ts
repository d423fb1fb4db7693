// The end-of-run report: one object for --json and the same facts as text.

import type { LatencySummary } from './ack-stats.js';

export interface AnomalyRecord {
  deviceId: string;
  metric: string;
  /** the reading's ts as sent (device clock), epoch ms */
  ts: number;
  value: number;
  expected: number;
}

export interface DropoutRecord {
  deviceId: string;
  /** epoch ms (simulator clock) when the device went offline and when it came back */
  fromMs: number;
  untilMs: number;
}

export interface SimSummary {
  ok: boolean;
  /** present when ok is false */
  error?: { code: string; message: string };
  url: string;
  devices: number;
  qos: 0 | 1 | 2;
  rate: number;
  batch: number;
  metrics: string[];
  seed: number;
  /** wall seconds from the first connection to the end of the grace period */
  durationS: number;
  /** allConnectedAfterS: when the last device first connected (the end of the ramp) */
  connected: { atEnd: number; peak: number; allConnectedAfterS: number | null };
  connections: {
    connects: number;
    reconnects: number;
    disconnects: number;
    dropouts: number;
    churned: number;
  };
  /** acked and unacked are null for QoS 0, which has no acks */
  messages: { sent: number; acked: number | null; unacked: number | null; failed: number; replayed: number };
  /** one reading = one metric value = one stored row */
  readings: {
    sent: number;
    acked: number | null;
    replayed: number;
    overflowed: number;
    unsentAtEnd: number;
  };
  ratesPerS: { sent: number; acked: number | null };
  ackLatencyMs: LatencySummary | null;
  errors: Record<string, number>;
  anomalies: { count: number; truncated: boolean; list: AnomalyRecord[] };
  dropouts: { count: number; truncated: boolean; list: DropoutRecord[] };
  /** the simulator's own cost: CPU time over wall time, 100 = one full core */
  cpu: { percent: number; userMs: number; systemMs: number };
  /** worst delay between a device's due time and its service: >100 ms means the simulator is saturated */
  maxLagMs: number;
  rssMb: number;
}

export function formatSummary(s: SimSummary): string {
  const lines: string[] = [];
  const n = (v: number) => v.toLocaleString('en-US');
  lines.push(
    `simulated ${n(s.devices)} devices against ${s.url} for ${s.durationS.toFixed(1)} s (QoS ${s.qos}, ${s.rate} msg/s each, batch ${s.batch}, seed ${s.seed})`,
  );
  const allAfter = s.connected.allConnectedAfterS;
  lines.push(
    `  connections  peak ${n(s.connected.peak)}, ${allAfter === null ? 'never all connected' : `every device connected within ${allAfter.toFixed(1)} s`}, ${n(s.connections.reconnects)} reconnects, ${n(s.connections.dropouts)} dropouts, ${n(s.connections.churned)} churned`,
  );
  const m = s.messages;
  lines.push(
    s.qos === 0
      ? `  messages     sent ${n(m.sent)} (QoS 0: no acks)`
      : `  messages     sent ${n(m.sent)}, acknowledged ${n(m.acked ?? 0)}, unacknowledged ${n(m.unacked ?? 0)}, replayed ${n(m.replayed)}`,
  );
  lines.push(
    `  readings     sent ${n(s.readings.sent)}${s.readings.acked === null ? '' : `, acknowledged ${n(s.readings.acked)}`}, replayed ${n(s.readings.replayed)}, unsent at end ${n(s.readings.unsentAtEnd)}, overflowed ${n(s.readings.overflowed)}`,
  );
  lines.push(
    `  rates        ${n(s.ratesPerS.sent)} msg/s sent${s.ratesPerS.acked === null ? '' : `, ${n(s.ratesPerS.acked)} acked/s`}`,
  );
  if (s.ackLatencyMs) {
    const l = s.ackLatencyMs;
    lines.push(`  ack latency  p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms`);
  }
  const errors = Object.entries(s.errors);
  lines.push(
    `  errors       ${errors.length === 0 ? 'none' : errors.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
  );
  lines.push(`  anomalies    ${n(s.anomalies.count)} injected spikes (listed in --json)`);
  lines.push(
    `  simulator    CPU ${s.cpu.percent.toFixed(1)}% of one core, RSS ${s.rssMb} MB, worst scheduling lag ${s.maxLagMs} ms`,
  );
  if (s.error) lines.push(`${s.error.code}: ${s.error.message}`);
  return lines.join('\n');
}
