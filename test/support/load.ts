import { connectLeanPublisher, type LeanPublisher } from '../../simulators/lean-publisher.js';

export interface AckedLoad {
  /** "deviceId|ts" of every message whose PUBACK arrived */
  acked: Set<string>;
  sent: number;
  /** resolves when every connection has stopped (closed or told to stop) */
  finished: Promise<void>;
  stop(): void;
  /** resolves once at least n messages were acknowledged */
  whenAcked(n: number): Promise<void>;
}

export const METRICS = ['temperature', 'humidity', 'pressure'] as const;

/**
 * Devices publishing QoS 1 readings with distinct timestamps, a small window
 * in flight each, recording exactly which messages were acknowledged.
 */
export async function startAckedLoad(options: {
  port: number;
  devices: number;
  window?: number;
  baseTs?: number;
  prefix?: string;
}): Promise<AckedLoad> {
  const { port, devices, window = 2, baseTs = Date.now() - 60_000, prefix = 'load' } = options;
  const acked = new Set<string>();
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let stopped = false;
  let sent = 0;
  const clients: LeanPublisher[] = await Promise.all(
    Array.from({ length: devices }, (_, i) =>
      connectLeanPublisher({ host: '127.0.0.1', port, clientId: `${prefix}-${i}` }),
    ),
  );
  const onAck = (key: string) => {
    acked.add(key);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (acked.size >= w.n) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };
  const loops = clients.map(async (client, i) => {
    const deviceId = `${prefix}-${String(i).padStart(4, '0')}`;
    let seq = 0;
    const lane = async () => {
      while (!stopped) {
        const ts = baseTs + seq++ * window;
        const payload = JSON.stringify({
          ts,
          values: { temperature: 20 + (seq % 10), humidity: 40, pressure: 1000 },
        });
        sent++;
        try {
          await client.publish(`devices/${deviceId}/telemetry`, payload, 1);
          onAck(`${deviceId}|${ts}`);
        } catch {
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
    client.destroy();
  });
  const finished = Promise.all(loops).then(() => undefined);
  return {
    acked,
    get sent() {
      return sent;
    },
    finished,
    stop() {
      stopped = true;
    },
    whenAcked(n) {
      if (acked.size >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}
