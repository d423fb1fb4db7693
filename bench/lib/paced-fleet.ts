import hdr from 'hdr-histogram-js';
import { connectLeanPublisher, type LeanPublisher } from '../../simulators/lean-publisher.js';

export interface PacedFleetOptions {
  host: string;
  port: number;
  devices: number;
  /** messages per device per second */
  rate: number;
  qos: 0 | 1 | 2;
  metricsPerMessage: number;
  /** connects per second while ramping */
  ramp: number;
  prefix?: string;
}

export interface FleetWindow {
  sent: number;
  acked: number;
  failed: number;
  /** ack latency in ms */
  p50: number;
  p99: number;
  max: number;
  seconds: number;
}

const TICK_MS = 10;

/**
 * Closed-schedule load: every device publishes `rate` times a second at its
 * own phase, from one shared timer. Messages are sent on schedule whether or
 * not earlier ones were acked (open loop), so a slow gateway shows up as
 * latency, not as quietly reduced load.
 */
export async function startPacedFleet(options: PacedFleetOptions) {
  const prefix = options.prefix ?? 'bench';
  const clients: LeanPublisher[] = [];
  const batchSize = Math.max(1, Math.ceil(options.ramp / 10));
  for (let i = 0; i < options.devices; i += batchSize) {
    const started = performance.now();
    const n = Math.min(batchSize, options.devices - i);
    clients.push(
      ...(await Promise.all(
        Array.from({ length: n }, (_, k) =>
          connectLeanPublisher({ host: options.host, port: options.port, clientId: `${prefix}-${i + k}` }),
        ),
      )),
    );
    const wait = (n / options.ramp) * 1000 - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  const histogram = hdr.build({
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
  });
  let sent = 0;
  let acked = 0;
  let failed = 0;
  let windowStart = performance.now();
  const periodMs = 1000 / options.rate;
  const start = performance.now();
  const seq = new Uint32Array(options.devices);
  const nextDue = Float64Array.from(
    { length: options.devices },
    (_, i) => start + (i / options.devices) * periodMs,
  );
  const baseTs = Date.now();
  const metricNames = Array.from({ length: options.metricsPerMessage }, (_, i) => `m${i}`);

  const tick = () => {
    const now = performance.now();
    for (let i = 0; i < clients.length; i++) {
      while (nextDue[i]! <= now) {
        nextDue[i]! += periodMs;
        const s = seq[i]!++;
        const values: Record<string, number> = {};
        for (let m = 0; m < metricNames.length; m++) values[metricNames[m]!] = 20 + ((s + m) % 7);
        const payload = JSON.stringify({ ts: baseTs + s * Math.ceil(periodMs) + (i % 997), values });
        sent++;
        clients[i]!.publish(`devices/${prefix}-${i}/telemetry`, payload, options.qos).then(
          (ms) => {
            acked++;
            histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
          },
          () => {
            failed++;
          },
        );
      }
    }
  };
  const timer = setInterval(tick, TICK_MS);

  return {
    connected: () => clients.length,
    /** Closes the measurement window and starts the next. */
    window(): FleetWindow {
      const now = performance.now();
      const w = {
        sent,
        acked,
        failed,
        p50: histogram.getValueAtPercentile(50) / 1000,
        p99: histogram.getValueAtPercentile(99) / 1000,
        max: histogram.maxValue / 1000,
        seconds: (now - windowStart) / 1000,
      };
      histogram.reset();
      sent = 0;
      acked = 0;
      failed = 0;
      windowStart = now;
      return w;
    },
    inFlight: () => clients.reduce((n, c) => n + c.inFlight, 0),
    async stop() {
      clearInterval(timer);
      await Promise.all(clients.map((c) => c.end()));
    },
  };
}
