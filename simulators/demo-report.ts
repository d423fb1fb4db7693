// What the demo shows at the end: what the gateway stored (read back from
// the database, not from the simulator's counters) and how it coped.

import type { AnomalyRecord, MetricSummaryRow, StorageReader } from '../storage/port.js';
import { DEFAULT_DEMO_DB } from './demo-options.js';
import type { SimSummary } from './sim-summary.js';

export interface DemoReport {
  devices: number;
  readings: number;
  metrics: MetricSummaryRow[];
  /** a device id that really is in the database, for the example query */
  sampleDeviceId: string | null;
  /** best effort, from /metrics; null when it could not be read */
  eventLoopP99Ms: number | null;
  /** peak seen while the simulator ran */
  connectedClients: number | null;
  /** alert transitions of this run, newest first; null when analytics were not asked */
  alerts: readonly AnomalyRecord[] | null;
}

export function parsePrometheusValue(text: string, series: string): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(series)) continue;
    const rest = line.slice(series.length);
    if (!rest.startsWith(' ')) continue;
    const value = Number(rest.trim().split(/\s+/)[0]);
    return Number.isFinite(value) ? value : null;
  }
  return null;
}

async function fetchMetrics(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

export interface GatewayFigures {
  /** the worst closed window seen while watching; null when none was readable */
  eventLoopP99Ms: number | null;
  connectedClientsPeak: number | null;
}

/**
 * Polls the gateway's /metrics while the simulator runs. The gateway reports
 * event-loop delay per closed window (10 s by default), so one read at the end
 * could miss the busy part; keep the worst window instead. Best effort.
 */
export function watchGatewayMetrics(url: string, intervalMs = 2000): { stop(): Promise<GatewayFigures> } {
  const figures: GatewayFigures = { eventLoopP99Ms: null, connectedClientsPeak: null };
  const poll = async () => {
    const text = await fetchMetrics(url);
    if (text === null) return;
    const loop = parsePrometheusValue(text, 'gateway_event_loop_delay_seconds{quantile="0.99"}');
    if (loop !== null && loop > 0) {
      const ms = Math.round(loop * 10_000) / 10;
      figures.eventLoopP99Ms = Math.max(figures.eventLoopP99Ms ?? 0, ms);
    }
    const clients = parsePrometheusValue(text, 'gateway_connected_clients');
    if (clients !== null) figures.connectedClientsPeak = Math.max(figures.connectedClientsPeak ?? 0, clients);
  };
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = inFlight.then(poll);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight.then(poll);
      return figures;
    },
  };
}

export async function collectDemoReport(options: {
  reader: StorageReader;
  gateway: GatewayFigures;
  preferredDeviceId: string;
  /** the run's alert transitions (the query service's anomalies), newest first */
  alerts?: readonly AnomalyRecord[];
}): Promise<DemoReport> {
  const { reader } = options;
  const [devices, readings, metrics] = await Promise.all([
    reader.devices(),
    reader.countReadings(),
    reader.metricSummary(),
  ]);
  const sample = devices.find((d) => d.deviceId === options.preferredDeviceId) ?? devices[0];
  return {
    devices: devices.length,
    readings,
    metrics,
    sampleDeviceId: sample?.deviceId ?? null,
    eventLoopP99Ms: options.gateway.eventLoopP99Ms,
    connectedClients: options.gateway.connectedClientsPeak,
    alerts: options.alerts ?? null,
  };
}

/** Alerts listed in the report; the query command shows them all. */
const ALERTS_LISTED = 5;

function alertLines(alerts: readonly AnomalyRecord[], spikes: number): string[] {
  const raised = alerts.filter((a) => a.state === 'raised');
  const lines = [
    `Alerts: ${n(raised.length)} raised and ${n(alerts.length - raised.length)} cleared for ${n(spikes)} injected spikes` +
      ' (a series judges readings only after its warm-up; published on alerts/{deviceId})',
  ];
  const listed = raised
    .slice(0, ALERTS_LISTED)
    .map((a) => [
      new Date(a.ts).toISOString(),
      a.deviceId,
      a.metric,
      num(a.value),
      `expected ${num(a.expectedLow)} … ${num(a.expectedHigh)}`,
    ]);
  if (listed.length > 0) lines.push(...table(listed).map((l) => `  ${l}`));
  return lines;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('   '),
  );
}

const n = (v: number) => v.toLocaleString('en-US');
const num = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(2));

export function formatDemoReport(
  report: DemoReport,
  sim: SimSummary,
  where: { db: string; host: string; mqttPort: number; httpPort?: number },
): string {
  const lines = [
    '',
    `Stored in ${where.db} (the whole database, earlier runs included)`,
    `  devices    ${n(report.devices)}`,
    `  readings   ${n(report.readings)}`,
    '',
    ...table([
      ['metric', 'count', 'min', 'avg', 'max'],
      ...report.metrics.map((m) => [m.metric, n(m.count), num(m.min), num(m.avg), num(m.max)]),
    ]).map((l) => `  ${l}`),
    '',
  ];
  const m = sim.messages;
  const latency = sim.ackLatencyMs;
  lines.push(
    `This run: ${n(sim.devices)} devices sent ${n(m.sent)} messages (${n(sim.readings.sent)} readings)` +
      (m.acked === null ? '' : `, ${n(m.acked)} acknowledged, ${n(m.unacked ?? 0)} unacknowledged`) +
      (latency ? `; ack p50 ${latency.p50} ms, p99 ${latency.p99} ms` : '') +
      `; ${n(sim.anomalies.count)} injected spikes; simulator CPU ${sim.cpu.percent}%`,
  );
  if (report.eventLoopP99Ms !== null || report.connectedClients !== null) {
    const loop = report.eventLoopP99Ms === null ? 'n/a' : `${report.eventLoopP99Ms} ms`;
    lines.push(
      `Gateway: event-loop delay p99 ${loop} (worst 10 s window), peak ${n(report.connectedClients ?? 0)} connected clients`,
    );
  }
  if (report.alerts !== null) lines.push(...alertLines(report.alerts, sim.anomalies.count));
  lines.push(
    '',
    'Query further:',
    ...queryCommands(
      report.sampleDeviceId ?? '<device id>',
      sim.metrics[0] ?? 'temperature',
      where.db,
      where.httpPort,
    ),
    'Connect a real sensor:',
    `  mosquitto_pub -h ${where.host} -p ${where.mqttPort} -q 1 -t devices/my-sensor/telemetry -m '{"temperature": 21.5}'`,
  );
  return lines.join('\n');
}

function queryCommands(device: string, metric: string, db: string, httpPort: number | undefined): string[] {
  // The default database needs no --db; any other one must be named.
  const dbFlag = db === DEFAULT_DEMO_DB ? '' : ` --db ${db}`;
  const lines = [
    `  npm run query -- series --device ${device} --metric ${metric} --from -5m --bucket 1m --agg count,min,avg,max,p95${dbFlag}`,
    `  npm run query -- series --device 'sim-*' --metric ${metric} --from -5m --bucket 1m --agg avg,p95${dbFlag}   # the whole fleet`,
    `  npm run query -- readings --device ${device} --metric ${metric} --from -5m${dbFlag}`,
    `  npm run query -- anomalies --from -5m${dbFlag}   # alerts raised and cleared`,
  ];
  if (httpPort !== undefined)
    lines.push(`  open http://127.0.0.1:${httpPort}/   # the dashboard, while the gateway runs`);
  return lines;
}
