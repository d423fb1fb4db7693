// What RabbitMQ 3.10's MQTT plugin acknowledges, checked on the broker of the
// project's machines (docs/scale-out.md): its PUBACK waits for the queues'
// confirm. A queue that refuses the message (full, x-overflow
// reject-publish) gets no PUBACK sent: the plugin closes the connection,
// and the device resends. A message that matches no queue is acked at once
// and dropped, which is why gateways declare their queue before anything.
import { randomBytes } from 'node:crypto';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AMQP_URL, RABBIT_MQTT_PORT } from './rabbitmq-fixture.js';

type Outcome = 'puback' | 'closed';

/** PUBACK, or the connection closed by the broker before it */
function publish(client: MqttClient, topic: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const onClose = () => resolve('closed');
    client.once('close', onClose);
    client.publish(topic, '1', { qos: 1 }, (err) => {
      client.off('close', onClose);
      resolve(err ? 'closed' : 'puback');
    });
  });
}

describe('RabbitMQ 3.10 MQTT plugin: when does a device get its PUBACK', () => {
  let model: ChannelModel;
  let channel: Channel;
  let client: MqttClient;
  const id = randomBytes(4).toString('hex');
  const queue = `t16-puback-${id}`;

  beforeEach(async () => {
    model = await connect(AMQP_URL);
    channel = await model.createChannel();
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${RABBIT_MQTT_PORT}`, {
      clientId: `t16-puback-${id}`,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
  });
  afterEach(async () => {
    client.end(true);
    await channel.deleteQueue(queue);
    await model.close();
  });

  it('only after the queue took it: a queue that refuses means no PUBACK', async () => {
    // A classic queue: its length limit is exact (a quorum queue's is checked
    // a little late, but the plugin treats both queue types' confirms alike).
    await channel.assertQueue(queue, { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    await channel.bindQueue(queue, 'amq.topic', `t16.${id}.#`);
    expect(await publish(client, `t16/${id}/a`)).toBe('puback');
    expect(await publish(client, `t16/${id}/b`)).toBe('closed');
    expect((await channel.checkQueue(queue)).messageCount).toBe(1);
  });

  it('a message that matches no queue is acked and dropped', async () => {
    await channel.assertQueue(queue);
    expect(await publish(client, `t16/${id}/unbound`)).toBe('puback');
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
  });
});
