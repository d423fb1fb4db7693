// The forwarder against RabbitMQ 3.10's MQTT plugin (127.0.0.1:1885, see
// .ci/rabbitmq-mqtt): the edge publishes at QoS 1 through the plugin, whose
// PUBACK waits for the queues' confirm (test/consumer/rabbitmq-puback.test.ts).
// Once the edge reports nothing owed, an AMQP consumer of a queue bound
// before the first publish must find every reading the edge stored, values
// included: a message that matched no queue would have been acked and dropped.
// The device ids carry a dot, which the plugin keeps as a dot in the routing
// key: it splits the id over two words (docs/edge.md).

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { tempDir } from '../../simulators/run-cli.js';
import { AMQP_URL, RABBIT_MQTT_PORT } from '../consumer/rabbitmq-fixture.js';
import { forwardState, storedReadings, until } from '../support/forward-helpers.js';
import { METRICS, startAckedLoad } from '../support/load.js';

const running: GatewayProcess[] = [];
let model: ChannelModel | undefined;
afterEach(async () => {
  for (const g of running.splice(0))
    if (g.proc.exitCode === null && g.proc.signalCode === null) await g.stop('SIGKILL');
  await model?.close();
  model = undefined;
});

describe('store and forward to RabbitMQ (MQTT plugin)', () => {
  it('every reading the edge stored is in the queue once RabbitMQ acked it, values included', async () => {
    const id = randomBytes(4).toString('hex');
    // MQTT '/' is AMQP '.' in amq.topic's routing keys.
    const prefix = `fwd-rmq-${id}/devices/`;
    model = await connect(AMQP_URL);
    const channel: Channel = await model.createChannel();
    // Exclusive: the broker deletes it with this connection.
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'amq.topic', `fwd-rmq-${id}.devices.#`);

    const edgeDb = join(tempDir(), 'edge.db');
    const edge = await spawnGateway([
      '--db',
      edgeDb,
      '--forward',
      `mqtt://127.0.0.1:${RABBIT_MQTT_PORT}`,
      '--forward-username',
      'guest',
      '--forward-password',
      'guest',
      '--forward-topic-prefix',
      prefix,
      '--forward-client-id',
      `fwd-rmq-${id}`,
    ]);
    running.push(edge);
    const devicePrefix = `rmq.${id}`;
    const load = await startAckedLoad({ port: edge.mqttPort, devices: 10, prefix: devicePrefix });
    await load.whenAcked(500);
    load.stop();
    await load.finished;

    const stored = storedReadings(edgeDb, devicePrefix);
    const storedKeys = new Set(stored.map((r) => r.split('|').slice(0, 3).join('|')));
    const acked = [...load.acked].flatMap((key) => {
      const [deviceId, ts] = key.split('|');
      return METRICS.map((m) => `${deviceId}|${m}|${ts}`);
    });
    expect(acked.length).toBeGreaterThanOrEqual(1500);
    expect(acked.every((k) => storedKeys.has(k))).toBe(true);

    // Everything committed is acknowledged upstream: RabbitMQ confirmed it into the queue.
    const state = await until(
      () => forwardState(edge.httpPort),
      (s) => s.connected && s.backlogReadings === 0 && s.forwardedReadings >= stored.length,
      'the edge to owe nothing upstream',
    );
    expect(state.forwardedReadings).toBe(stored.length);

    const received = new Set<string>();
    const routingKeys = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      channel
        .consume(queue, (msg) => {
          if (msg === null) return;
          routingKeys.add(msg.fields.routingKey);
          // fwd-rmq-{id} . devices . {device id, its dot a word break} . telemetry
          const deviceId = msg.fields.routingKey.split('.').slice(2, -1).join('.');
          const entries = JSON.parse(msg.content.toString()) as Array<{
            ts: number;
            values: Record<string, number>;
          }>;
          for (const e of entries)
            for (const [m, v] of Object.entries(e.values)) received.add(`${deviceId}|${m}|${e.ts}|${v}`);
          channel.ack(msg);
          if (received.size >= stored.length) resolve();
        })
        .catch(reject);
    });
    expect(
      [...routingKeys].every((k) => /^fwd-rmq-[0-9a-f]+\.devices\.rmq\.[0-9a-f]+-\d+\.telemetry$/.test(k)),
    ).toBe(true);
    expect([...received].sort()).toEqual(stored);
  }, 60_000);
});
