import hdr from 'hdr-histogram-js';
import { connectLeanPublisher, type LeanPublisher } from '../../simulators/lean-publisher.js';

/**
 * Closed-loop load for ceilings: every connection keeps `window` QoS 1
 * messages in flight and sends the next as soon as one is acked, so the rate
 * found is the most the broker sustains with acks meaning what they mean.
 */
export async function startWindowFleet(options: {
  host: string;
  port: number;
  connections: number;
  window: number;
  metricsPerMessage: number;
  prefix?: string;
}) {
  const prefix = options.prefix ?? 'sat';
  const clients: LeanPublisher[] = [];
  for (let i = 0; i < options.connections; i += 500) {
    const n = Math.min(500, options.connections - i);
    clients.push(
      ...(await Promise.all(
        Array.from({ length: n }, (_, k) =>
          connectLeanPublisher({ host: options.host, port: options.port, clientId: `${prefix}-${i + k}` }),
        ),
      )),
    );
  }
  const histogram = hdr.build({
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
  });
  let acked = 0;
  let stopped = false;
  const baseTs = Date.now();
  const metricNames = Array.from({ length: options.metricsPerMessage }, (_, i) => `m${i}`);
  const seq = new Uint32Array(options.connections);
  const lane = async (i: number) => {
    const client = clients[i]!;
    const topic = `devices/${prefix}-${i}/telemetry`;
    while (!stopped) {
      const s = seq[i]!++;
      const values: Record<string, number> = {};
      for (let m = 0; m < metricNames.length; m++) values[metricNames[m]!] = s % 100;
      try {
        const ms = await client.publish(topic, JSON.stringify({ ts: baseTs - 3_600_000 + s, values }), 1);
        acked++;
        histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
      } catch {
        return;
      }
    }
  };
  const lanes: Array<Promise<void>> = [];
  for (let i = 0; i < clients.length; i++) for (let w = 0; w < options.window; w++) lanes.push(lane(i));
  let t0 = performance.now();
  return {
    window() {
      const now = performance.now();
      const w = {
        acked,
        seconds: (now - t0) / 1000,
        p50: histogram.getValueAtPercentile(50) / 1000,
        p99: histogram.getValueAtPercentile(99) / 1000,
      };
      acked = 0;
      histogram.reset();
      t0 = now;
      return w;
    },
    async stop() {
      stopped = true;
      await Promise.all(clients.map((c) => c.end()));
      await Promise.all(lanes);
    },
  };
}
