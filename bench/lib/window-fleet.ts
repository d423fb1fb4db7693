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
  /** this fleet's first connection's place among all fleets (source addresses) */
  firstIndex?: number;
}): Promise<LeanPublisher[]> {
  const first = options.firstIndex ?? 0;
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
            localAddress: sourceAddress(first + i + k),
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
  firstIndex?: number;
  /** connect, then wait for `start()` before the first message (a fleet spread over processes starts together) */
  held?: boolean;
}) {
  const prefix = options.prefix ?? 'sat';
  const clients = await connectFleet({ ...options, prefix });
  const histogram = hdr.build({
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
  });
  let acked = 0;
  let ackedInAll = 0;
  let stopped = false;
  // Readings carry the time they are sent, as a device's do, kept distinct
  // per device: the gateway's minutes then close and are rewritten during the
  // run, as in production, instead of one old minute taking every reading.
  const lastTs = new Float64Array(options.connections);
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
      const now = Date.now();
      const ts = now > lastTs[i]! ? now : lastTs[i]! + 1;
      lastTs[i] = ts;
      try {
        const ms = await client.publishEncoded((id) => encode(id, ts));
        acked++;
        ackedInAll++;
        histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
      } catch {
        return;
      }
    }
  };
  const lanes: Array<Promise<void>> = [];
  let t0 = performance.now();
  const start = () => {
    if (lanes.length > 0) return;
    for (let i = 0; i < clients.length; i++) for (let w = 0; w < options.window; w++) lanes.push(lane(i));
    t0 = performance.now();
  };
  if (options.held !== true) start();
  return {
    start,
    window() {
      const now = performance.now();
      const w = {
        acked,
        seconds: (now - t0) / 1000,
        p50: histogram.getValueAtPercentile(50) / 1000,
        p99: histogram.getValueAtPercentile(99) / 1000,
        /** the latencies in µs, for merging fleets of several processes */
        histogram: hdr.encodeIntoCompressedBase64(histogram),
      };
      acked = 0;
      histogram.reset();
      t0 = now;
      return w;
    },
    /** Ends every connection; resolves with the acks counted since the fleet started. */
    async stop(): Promise<number> {
      stopped = true;
      await Promise.all(clients.map((c) => c.end()));
      await Promise.all(lanes);
      return ackedInAll;
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
