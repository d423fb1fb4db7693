// The AMQP consumer's ack protocol against the RabbitMQ of the project's
// machines: a message whose write failed is not acked, the connection is
// closed so RabbitMQ requeues it, and it comes again on the new connection.
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayError } from '../../core/errors.js';
import { type RunningAmqpConsumer, startAmqpConsumer } from '../../gateway/consumer/amqp-consumer.js';
import type { IngestMessage } from '../../pipelines/telemetry.js';
import { AMQP_URL, deleteQueues } from './rabbitmq-fixture.js';

describe('AMQP consumer on RabbitMQ', () => {
  let consumer: RunningAmqpConsumer | undefined;
  const queues: string[] = [];
  afterEach(async () => {
    await consumer?.close();
    consumer = undefined;
    await deleteQueues(queues.splice(0));
  });

  it('declares its quorum queue, maps the routing key back, and redelivers what did not commit', async () => {
    const id = randomBytes(4).toString('hex');
    const queue = `t16-unit-${id}`;
    queues.push(queue);
    const seen: Array<{ topic: string; route: unknown; payload: string }> = [];
    let resolveTwice!: () => void;
    const twice = new Promise<void>((r) => {
      resolveTwice = r;
    });
    const pipeline = {
      offer(message: IngestMessage, admitted: () => void) {
        admitted();
        seen.push({
          topic: message.topic,
          route: message.route,
          payload: Buffer.from(message.payload).toString(),
        });
        queueMicrotask(() => {
          if (seen.length === 1) message.settle(gatewayError('GW_ERR_STORAGE_UNAVAILABLE', 'test'));
          else {
            message.settle();
            resolveTwice();
          }
        });
      },
    };
    consumer = await startAmqpConsumer({
      url: AMQP_URL,
      queue,
      prefetch: 10,
      pipeline,
      logger: pino({ level: 'silent' }),
      backoff: { initialMs: 10, maxMs: 50, jitter: 'full' },
    });
    const model = await connect(AMQP_URL);
    const channel = await model.createChannel();
    channel.publish('amq.topic', `devices.u${id}.a.telemetry`, Buffer.from('{"t": 1}'));
    await twice;
    expect(seen).toEqual([
      { topic: `devices/u${id}.a/telemetry`, route: { deviceId: `u${id}.a` }, payload: '{"t": 1}' },
      { topic: `devices/u${id}.a/telemetry`, route: { deviceId: `u${id}.a` }, payload: '{"t": 1}' },
    ]);
    expect(consumer.delivered()).toBe(2);
    expect(consumer.redelivered()).toBe(1);
    await consumer.close();
    consumer = undefined;
    // Acked after the commit: nothing is left in the queue.
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    await model.close();
  });

  it('fails at start with GW_ERR_INGEST_CONNECT when the queue exists with other arguments', async () => {
    const queue = `t16-classic-${randomBytes(4).toString('hex')}`;
    queues.push(queue);
    const model = await connect(AMQP_URL);
    const channel = await model.createChannel();
    await channel.assertQueue(queue, { durable: true });
    await model.close();
    await expect(
      startAmqpConsumer({
        url: AMQP_URL,
        queue,
        prefetch: 10,
        pipeline: { offer: () => {} },
        logger: pino({ level: 'silent' }),
      }),
    ).rejects.toMatchObject({ code: 'GW_ERR_INGEST_CONNECT' });
  });
});
