// The forwarder against Mosquitto (the service on 127.0.0.1:1883, see
// .ci/run): an edge gateway publishes upstream under a topic prefix of its
// own, and a subscriber there receives every reading the edge acked, in our
// JSON contract with ts.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { tempDir } from '../../simulators/run-cli.js';
import { METRICS, startAckedLoad } from '../support/load.js';

const running: GatewayProcess[] = [];
afterEach(async () => {
  for (const g of running.splice(0))
    if (g.proc.exitCode === null && g.proc.signalCode === null) await g.stop('SIGKILL');
});

describe('store and forward to Mosquitto', () => {
  it('every reading the edge acked arrives upstream under the topic prefix', async () => {
    const prefix = `fwd-test-${randomUUID()}/devices/`;
    const received = new Set<string>();
    const subscriber = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { clientId: `sub-${randomUUID()}` });
    try {
      await subscriber.subscribeAsync(`${prefix}#`, { qos: 1 });
      let onReading: () => void = () => {};
      subscriber.on('message', (topic, payload) => {
        const deviceId = topic.slice(prefix.length).split('/')[0]!;
        const entries = JSON.parse(payload.toString()) as Array<{
          ts: number;
          values: Record<string, number>;
        }>;
        for (const e of entries)
          for (const m of Object.keys(e.values)) received.add(`${deviceId}|${m}|${e.ts}`);
        onReading();
      });

      const edge = await spawnGateway([
        '--db',
        join(tempDir(), 'edge.db'),
        '--forward',
        'mqtt://127.0.0.1:1883',
        '--forward-topic-prefix',
        prefix,
        '--forward-client-id',
        `edge-${randomUUID()}`,
      ]);
      running.push(edge);
      const load = await startAckedLoad({ port: edge.mqttPort, devices: 10, prefix: 'mq' });
      await load.whenAcked(500);
      load.stop();
      await load.finished;

      const expected = [...load.acked].flatMap((key) => {
        const [deviceId, ts] = key.split('|');
        return METRICS.map((m) => `${deviceId}|${m}|${ts}`);
      });
      const allThere = () => expected.every((k) => received.has(k));
      // Resolves on the subscriber's own messages: no timer decides.
      await new Promise<void>((resolve) => {
        onReading = () => {
          if (allThere()) resolve();
        };
        onReading();
      });
      expect(expected.length).toBeGreaterThanOrEqual(1500);
      expect(allThere()).toBe(true);
    } finally {
      await subscriber.endAsync();
    }
  }, 30_000);
});
