// Consumer mode on RabbitMQ (docs/scale-out.md): devices publish MQTT to
// RabbitMQ's MQTT plugin, which routes each message to amq.topic; a quorum
// queue bound there for devices.# holds them, replicated, until a gateway
// acks. Gateways are competing consumers of that one queue: each takes a
// prefetch window of unacked messages, group-commits across it through the
// same ingest pipeline as the embedded broker's, and acks a message only
// after its readings committed. When a gateway dies, RabbitMQ hands its
// unacked messages to the others at once.
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from 'amqplib';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay, UPSTREAM_BACKOFF } from '../../core/backoff.js';
import { GatewayError } from '../../core/errors.js';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import { redactUrl } from '../../storage/open-storage.js';
import { routeRoutingKey } from './routing-key.js';

export const AMQP_EXCHANGE = 'amq.topic';
/** the sensor contract's topics, devices/…, as the MQTT plugin routes them */
export const AMQP_BINDING = 'devices.#';

export interface AmqpConsumerOptions {
  /** amqp://user:pass@host:5672[/vhost] */
  url: string;
  queue: string;
  /** unacked messages RabbitMQ may hand this gateway at once */
  prefetch: number;
  pipeline: Pick<IngestPipeline, 'offer'>;
  logger: Logger;
  backoff?: BackoffPolicy;
  connectTimeoutMs?: number;
  now?: () => number;
}

export interface RunningAmqpConsumer {
  readonly queue: string;
  connected(): boolean;
  /** messages RabbitMQ delivered so far (redeliveries included) */
  delivered(): number;
  /** of those, the ones RabbitMQ had given to a consumer before (the redelivered flag) */
  redelivered(): number;
  /** Shutdown, step 1: no new deliveries, and no reconnect from now on. */
  quiesce(): void;
  /** After the drain: the acks of everything committed are sent, then the connection closes. */
  close(): Promise<void>;
}

/** One connection and its channel; `open` turns false once either closes. */
interface Link {
  model: ChannelModel;
  channel: Channel;
  open: boolean;
  consumerTag?: string;
}

/**
 * Declares the quorum queue and its binding before anything else: RabbitMQ
 * acks a QoS 1 MQTT publish that matches no queue and drops it. Idempotent;
 * a queue of that name declared with other arguments fails with
 * PRECONDITION_FAILED, reported as GW_ERR_INGEST_CONNECT.
 */
export async function declareIngestQueue(channel: Channel, queue: string): Promise<void> {
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(queue, AMQP_EXCHANGE, AMQP_BINDING);
}

/** Connects, declares, and starts consuming; rejects with GW_ERR_INGEST_CONNECT when the first connection fails. */
export async function startAmqpConsumer(opts: AmqpConsumerOptions): Promise<RunningAmqpConsumer> {
  const log = opts.logger.child({ queue: opts.queue });
  const now = opts.now ?? Date.now;
  const backoff = opts.backoff ?? UPSTREAM_BACKOFF;
  let link: Link | undefined;
  let closing = false;
  let delivered = 0;
  let redelivered = 0;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;

  const onMessage = (current: Link, msg: ConsumeMessage | null) => {
    // null: RabbitMQ cancelled the consumer (the queue was deleted): start over.
    if (msg === null) return drop(current, new Error('consumer cancelled by the broker'));
    delivered++;
    if (msg.fields.redelivered) redelivered++;
    const { topic, route } = routeRoutingKey(msg.fields.routingKey);
    const settle = (err?: Error) => {
      if (err !== undefined) return drop(current, err);
      // A channel that closed since has had its unacked messages requeued by
      // RabbitMQ: this one comes again, and the key absorbs the duplicate.
      if (current.open) current.channel.ack(msg);
    };
    opts.pipeline.offer({ topic, route, payload: msg.content, qos: 1, receivedAt: now(), settle }, () => {});
  };

  /**
   * No ack for a message whose readings did not commit: the connection is
   * closed, so RabbitMQ requeues every unacked message of it, and a new one
   * is opened after a backoff (not at once, so a failing store is not
   * hammered with the same window).
   */
  const drop = (current: Link, err: Error) => {
    // While shutting down, close() ends the connection once the drain is
    // over: what was refused meanwhile is requeued then, unacked.
    if (!current.open || closing) return;
    current.open = false;
    log.warn(
      { code: (err as { code?: string }).code, err: err.message },
      'ingest: message not committed; reconnecting for redelivery',
    );
    current.model.close().catch(() => {});
    schedule();
  };

  const schedule = () => {
    clearTimeout(timer);
    const delay = backoffDelay(attempt++, backoff);
    log.info({ delayMs: delay, attempt }, 'ingest: disconnected; reconnecting');
    timer = setTimeout(() => {
      if (closing) return;
      open().catch((err: Error) => {
        log.warn({ err: err.message }, 'ingest: reconnect failed');
        schedule();
      });
    }, delay);
  };

  const open = async () => {
    const model = await connect(opts.url, { timeout: opts.connectTimeoutMs ?? 10_000 });
    const channel = await model.createChannel().catch(async (err: Error) => {
      await model.close().catch(() => {});
      throw err;
    });
    const current: Link = { model, channel, open: true };
    model.on('error', (err: Error) => log.warn({ err: err.message }, 'ingest: connection error'));
    model.on('close', () => drop(current, new Error('connection closed')));
    channel.on('error', (err: Error) => log.warn({ err: err.message }, 'ingest: channel error'));
    channel.on('close', () => drop(current, new Error('channel closed')));
    try {
      await declareIngestQueue(channel, opts.queue);
      await channel.prefetch(opts.prefetch);
      const consuming = await channel.consume(opts.queue, (m) => onMessage(current, m), { noAck: false });
      current.consumerTag = consuming.consumerTag;
    } catch (err) {
      current.open = false;
      await model.close().catch(() => {});
      throw err;
    }
    link = current;
    attempt = 0;
    log.info({ prefetch: opts.prefetch }, 'ingest: connected');
  };

  try {
    await open();
  } catch (err) {
    closing = true;
    await link?.model.close().catch(() => {});
    throw new GatewayError('GW_ERR_INGEST_CONNECT', [redactUrl(opts.url), (err as Error).message], {
      cause: err,
    });
  }
  return {
    queue: opts.queue,
    connected: () => link?.open === true,
    delivered: () => delivered,
    redelivered: () => redelivered,
    quiesce() {
      closing = true;
      clearTimeout(timer);
      const current = link;
      if (current?.open && current.consumerTag !== undefined) {
        current.channel.cancel(current.consumerTag).catch(() => {});
      }
    },
    async close() {
      closing = true;
      clearTimeout(timer);
      const current = link;
      if (current?.open === true) {
        current.open = false;
        // Closing the channel first flushes the acks written before it.
        await current.channel.close().catch(() => {});
        await current.model.close().catch(() => {});
      }
      log.info({ delivered, redelivered }, 'ingest: closed');
    },
  };
}
