// One persistent MQTT session on the external broker: a stable ClientId,
// clean=false, subscribed at QoS 1 to the share group's telemetry topics.
// A message is acknowledged to the broker only after its readings committed.

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay } from '../../core/backoff.js';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';

export interface ConsumerSessionOptions {
  url: string;
  clientId: string;
  topics: readonly string[];
  username?: string;
  password?: string;
  pipeline: Pick<IngestPipeline, 'offer'>;
  logger: Logger;
  backoff: BackoffPolicy;
  connectTimeoutMs: number;
  keepaliveS: number;
  now?: () => number;
}

export interface ConsumerSession {
  readonly clientId: string;
  readonly connected: boolean;
  /** resolves at the first SUBACK; rejects when the first connection fails */
  readonly subscribed: Promise<void>;
  /** messages the broker delivered (QoS 1 redeliveries included) */
  readonly delivered: number;
  /** Shutdown, step 1: a message refused from now on ends the connection for good (no reconnect). */
  quiesce(): void;
  /** Ends the session gracefully (DISCONNECT; the broker keeps it for the next start). */
  close(): Promise<void>;
}

export function openConsumerSession(opts: ConsumerSessionOptions): ConsumerSession {
  const now = opts.now ?? Date.now;
  const log = opts.logger.child({ clientId: opts.clientId });
  const options: IClientOptions = {
    clientId: opts.clientId,
    // A persistent session [MQTT-3.1.2-4]: the broker keeps our subscriptions
    // and the QoS 1 messages not yet acknowledged while we are away, and
    // resends them when this ClientId reconnects [MQTT-4.4.0-1].
    clean: false,
    protocolVersion: 4,
    keepalive: opts.keepaliveS,
    connectTimeout: opts.connectTimeoutMs,
    // Reconnects are ours (below): mqtt.js' own timer has a fixed period.
    reconnectPeriod: 0,
    resubscribe: false,
    ...(opts.username === undefined ? {} : { username: opts.username }),
    ...(opts.password === undefined ? {} : { password: opts.password }),
  };
  const client: MqttClient = mqtt.connect(opts.url, options);
  let attempt = 0;
  let everSubscribed = false;
  let closing = false;
  let delivered = 0;
  let timer: NodeJS.Timeout | undefined;
  let resolveSubscribed!: () => void;
  let rejectSubscribed!: (err: Error) => void;
  const subscribed = new Promise<void>((resolve, reject) => {
    resolveSubscribed = resolve;
    rejectSubscribed = reject;
  });
  subscribed.catch(() => {}); // the caller may not be waiting yet

  // mqtt.js sends the PUBACK of a QoS 1 message only when this callback is
  // called: node_modules/mqtt/build/lib/handlers/publish.js lines 111-115
  // (mqtt 5.16.0) call `client.handleMessage(packet, (err) => { ...
  // client._sendPacket({ cmd: 'puback', messageId, ... }) })`. It also takes
  // the connection's next packet only after that (client.js `work` /
  // `nextTickWork`): one message in flight per session, which is why a
  // gateway opens several sessions and group-commits across them.
  client.handleMessage = (packet, callback) => {
    delivered++;
    const qos = packet.qos;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const ack = () => callback();
    opts.pipeline.offer(
      {
        topic: packet.topic,
        payload,
        qos,
        receivedAt: now(),
        // QoS 0 is best effort: acked (nothing to send) once admitted.
        settle:
          qos === 0
            ? () => {}
            : (err?: Error) => {
                if (err === undefined) ack();
                else refuse(err);
              },
      },
      qos === 0 ? ack : () => {},
    );
  };

  /**
   * No ack for a message whose readings did not commit. Holding the callback
   * alone would stall the session (mqtt.js takes no next packet), and the
   * broker resends an unacknowledged message only on a new connection
   * [MQTT-4.4.0-1]: so the connection is dropped, and the reconnect makes
   * the broker resend it. The key (device, metric, ts) absorbs a duplicate.
   */
  const refuse = (err: Error) => {
    log.warn(
      { code: (err as { code?: string }).code, err: err.message },
      'ingest: message not committed; reconnecting for redelivery',
    );
    if (closing) client.end(true);
    else client.stream?.destroy();
  };

  client.on('connect', (connack) => {
    attempt = 0;
    log.info({ sessionPresent: connack.sessionPresent }, 'ingest: connected');
    client.subscribe(
      opts.topics.map((t) => t),
      { qos: 1 },
      (err, granted) => {
        const refused = granted?.filter((g) => g.qos === 128) ?? [];
        if (err !== null || refused.length > 0) {
          const error = err ?? new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
          log.error({ err: error.message }, 'ingest: subscribe failed');
          if (!everSubscribed) rejectSubscribed(error);
          return;
        }
        everSubscribed = true;
        resolveSubscribed();
      },
    );
  });
  client.on('error', (err) => {
    log.warn({ err: err.message }, 'ingest: connection error');
    if (!everSubscribed) rejectSubscribed(err);
  });
  client.on('close', () => {
    if (closing) return;
    const delay = backoffDelay(attempt++, opts.backoff);
    log.info({ delayMs: delay, attempt }, 'ingest: disconnected; reconnecting');
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closing) client.reconnect();
    }, delay);
  });

  return {
    clientId: opts.clientId,
    get connected() {
      return client.connected;
    },
    subscribed,
    get delivered() {
      return delivered;
    },
    quiesce() {
      closing = true;
    },
    async close() {
      closing = true;
      clearTimeout(timer);
      // end(false) lets queued PUBACKs go out before DISCONNECT.
      await client.endAsync(false);
    },
  };
}
