import hdr from 'hdr-histogram-js';
import mqttPacket from 'mqtt-packet';
import { connectLeanPublisher, type LeanPublisher } from '../../simulators/lean-publisher.js';
import { createFormatter, type SimFormat } from '../../simulators/payload-formats.js';
import { createPublishTemplate } from './publish-template.js';

/** One source address per this many connections keeps each far below the ephemeral-port range. */
const CONNECTIONS_PER_SOURCE = 10_000;

export function sourceAddress(i: number): string {
  return `127.0.0.${1 + Math.floor(i / CONNECTIONS_PER_SOURCE)}`;
}

export async function connectFleet(options: {
  host: string;
  port: number;
  connections: number;
  prefix: string;
  /** connects per second */
  ramp?: number;
}): Promise<LeanPublisher[]> {
  const clients: LeanPublisher[] = [];
  const step = 250;
  const ramp = options.ramp ?? 5000;
  for (let i = 0; i < options.connections; i += step) {
    const started = performance.now();
    const n = Math.min(step, options.connections - i);
    clients.push(
      ...(await Promise.all(
        Array.from({ length: n }, (_, k) =>
          connectLeanPublisher({
            host: options.host,
            port: options.port,
            clientId: `${options.prefix}-${i + k}`,
            localAddress: sourceAddress(i + k),
          }),
        ),
      )),
    );
    const wait = (n / ramp) * 1000 - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return clients;
}

/**
 * Closed-loop load for ceilings: every connection keeps `window` QoS 1
 * messages in flight and sends the next as soon as one is acked, so the rate
 * found is the most the broker sustains with acks meaning what they mean.
 * Packets are pre-encoded; each carries a distinct ts.
 */
export async function startWindowFleet(options: {
  host: string;
  port: number;
  connections: number;
  window: number;
  metricsPerMessage: number;
  prefix?: string;
  /** a payload format of docs/sensors.md; absent: the JSON contract from a patched template */
  format?: SimFormat;
}) {
  const prefix = options.prefix ?? 'sat';
  const clients = await connectFleet({ ...options, prefix });
  const histogram = hdr.build({
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
  });
  let acked = 0;
  let stopped = false;
  // Readings go an hour back so they stay inside the accepted ts window for long runs.
  const baseTs = Date.now() - 3_600_000;
  const seq = new Uint32Array(options.connections);
  const encoders = await Promise.all(
    clients.map((client, i) =>
      options.format === undefined
        ? createPublishTemplate(`devices/${prefix}-${i}/telemetry`, options.metricsPerMessage)
        : formatEncoder(client, options.format, `${prefix}-${i}`, options.metricsPerMessage),
    ),
  );
  const lane = async (i: number) => {
    const client = clients[i]!;
    const encode = encoders[i]!;
    while (!stopped) {
      const ts = baseTs + seq[i]!++;
      try {
        const ms = await client.publishEncoded((id) => encode(id, ts));
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

/**
 * The same load in a firmware's format: its hello (discovery configs, NBIRTH)
 * first, then a packet generated per message (no template to patch: the
 * formats put the time in different places, and some carry none).
 */
async function formatEncoder(
  client: LeanPublisher,
  format: SimFormat,
  deviceId: string,
  metrics: number,
): Promise<(messageId: number, ts: number) => Buffer> {
  const names = Array.from({ length: metrics }, (_, m) => `m${m}`);
  const values = names.map((_, m) => 20 + m);
  const formatter = createFormatter(format, deviceId, names);
  for (const hello of formatter.hello()) await client.publish(hello.topic, hello.payload, 1);
  return (messageId, ts) => {
    const { topic, payload } = formatter.encode(values, ts);
    return mqttPacket.generate({
      cmd: 'publish',
      topic,
      payload,
      qos: 1,
      messageId,
      retain: false,
      dup: false,
    });
  };
}
