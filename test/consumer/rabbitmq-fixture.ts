// RabbitMQ fixtures: the broker of the project's machines (3.10, AMQP on
// 127.0.0.1:5672, guest/guest) with its MQTT plugin on 127.0.0.1:1885
// (.ci/rabbitmq-mqtt sets it up). Queue names are unique per run and deleted after.
import { connect } from 'amqplib';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';

export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const RABBIT_MQTT_PORT = 1885;

export function spawnAmqpConsumer(opts: {
  db: string;
  queue: string;
  prefetch?: number;
  extra?: string[];
}): Promise<GatewayProcess> {
  return spawnGateway([
    '--db',
    opts.db,
    '--ingest',
    AMQP_URL,
    '--ingest-queue',
    opts.queue,
    '--ingest-prefetch',
    String(opts.prefetch ?? 200),
    '--analytics',
    'off',
    '--stats-interval-ms',
    '200',
    ...(opts.extra ?? []),
  ]);
}

export async function deleteQueues(queues: string[]): Promise<void> {
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    for (const q of queues) await channel.deleteQueue(q);
    await channel.close();
  } finally {
    await model.close();
  }
}
