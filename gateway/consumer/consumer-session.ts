// One persistent MQTT session on the external broker: a stable ClientId,
// clean=false, subscribed at QoS 1 to the share group's telemetry topics.
// A message is acknowledged to the broker only after its readings committed.
//
// A lean client on mqtt-packet rather than mqtt.js: mqtt.js takes a
// connection's next packet only after the previous message's handleMessage
// callback (its PUBACK) ran, so a session could carry one message at a time
// and every message waited for a commit round trip. Here every PUBLISH the
// broker sends is handed to the pipeline at once: the window of a session is
// the broker's in-flight limit (Mosquitto's max_inflight_messages, 20 by
// default), and one group commit takes the windows of all sessions. PUBACKs
// still leave in the order received (ack-order.ts).

import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay } from '../../core/backoff.js';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import { createAckOrder } from './ack-order.js';

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

/** What one TCP (or TLS) connection of the session holds. */
interface Wire {
  socket: Socket;
  live: boolean;
  ready: boolean;
  /** admissions the pipeline still holds (QoS 0): reading is paused meanwhile */
  parked: number;
  awaitingPong: boolean;
  ping?: NodeJS.Timeout;
  deadline?: NodeJS.Timeout;
}

function dial(url: URL): Socket {
  const port = Number(url.port) || (url.protocol === 'mqtts:' ? 8883 : 1883);
  const socket =
    url.protocol === 'mqtts:'
      ? tlsConnect({ host: url.hostname, port, servername: url.hostname })
      : netConnect({ host: url.hostname, port });
  socket.setNoDelay(true);
  return socket;
}

export function openConsumerSession(opts: ConsumerSessionOptions): ConsumerSession {
  const now = opts.now ?? Date.now;
  const log = opts.logger.child({ clientId: opts.clientId });
  const url = new URL(opts.url);
  let wire: Wire | undefined;
  let attempt = 0;
  let closing = false;
  let delivered = 0;
  let timer: NodeJS.Timeout | undefined;
  const first = firstSubscription();

  const send = (w: Wire, packet: Packet) => {
    if (w.live) w.socket.write(mqttPacket.generate(packet));
  };

  const onPublish = (w: Wire, acks: ReturnType<typeof createAckOrder>, packet: mqttPacket.IPublishPacket) => {
    delivered++;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const qos = packet.qos;
    const acked = qos === 0 ? undefined : acks.received(packet.messageId ?? 0);
    let admittedNow = false;
    const admitted = () => {
      admittedNow = true;
      if (--w.parked === 0 && w.live) w.socket.resume();
    };
    w.parked++;
    opts.pipeline.offer(
      {
        topic: packet.topic,
        payload,
        qos,
        receivedAt: now(),
        settle: (err?: Error) => {
          if (acked === undefined) return;
          if (err === undefined) acked();
          else refuse(log, w, err);
        },
      },
      admitted,
    );
    // Parked by the pipeline: read nothing more until it takes the message.
    if (!admittedNow) w.socket.pause();
  };

  const onConnack = (w: Wire, packet: mqttPacket.IConnackPacket) => {
    clearTimeout(w.deadline);
    if (packet.returnCode !== 0) {
      const err = new Error(`CONNACK return code ${packet.returnCode}`);
      log.error({ returnCode: packet.returnCode }, 'ingest: connection refused');
      first.fail(err);
      w.socket.destroy();
      return;
    }
    attempt = 0;
    w.ready = true;
    log.info({ sessionPresent: packet.sessionPresent }, 'ingest: connected');
    send(w, {
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: opts.topics.map((topic) => ({ topic, qos: 1 })),
    });
    keepAlive(w, opts.keepaliveS);
  };

  const onSuback = (packet: mqttPacket.ISubackPacket) => {
    // MQTT 3.1.1: a list of return codes, 0x80 for a refused filter [MQTT-3.9.3].
    const refused = packet.granted.filter((g) => g === 128);
    if (refused.length > 0) {
      const error = new Error(`subscription refused: ${opts.topics.join(', ')}`);
      log.error({ err: error.message }, 'ingest: subscribe failed');
      first.fail(error);
      return;
    }
    first.succeed();
  };

  const open = () => {
    const socket = dial(url);
    const w: Wire = { socket, live: true, ready: false, parked: 0, awaitingPong: false };
    wire = w;
    // The acks due together leave as one write.
    const acks = createAckOrder((ids) => {
      if (!w.live) return;
      socket.write(Buffer.concat(ids.map((messageId) => mqttPacket.generate({ cmd: 'puback', messageId }))));
    });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'publish') onPublish(w, acks, packet);
      else if (packet.cmd === 'connack') onConnack(w, packet);
      else if (packet.cmd === 'suback') onSuback(packet);
      else if (packet.cmd === 'pingresp') w.awaitingPong = false;
    });
    parser.on('error', (err) => socket.destroy(err));
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('connect', () => send(w, connectPacket(opts)));
    socket.on('error', (err) => {
      log.warn({ err: err.message }, 'ingest: connection error');
      first.fail(err);
    });
    socket.on('close', () => onClose(w));
    w.deadline = setTimeout(() => {
      if (!w.ready) socket.destroy(new Error(`no CONNACK within ${opts.connectTimeoutMs} ms`));
    }, opts.connectTimeoutMs);
  };

  const onClose = (w: Wire) => {
    w.live = false;
    clearInterval(w.ping);
    clearTimeout(w.deadline);
    if (closing) return;
    const delay = backoffDelay(attempt++, opts.backoff);
    log.info({ delayMs: delay, attempt }, 'ingest: disconnected; reconnecting');
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closing) open();
    }, delay);
  };

  open();
  return {
    clientId: opts.clientId,
    get connected() {
      return wire?.live === true && wire.ready;
    },
    subscribed: first.promise,
    get delivered() {
      return delivered;
    },
    quiesce() {
      closing = true;
    },
    close() {
      closing = true;
      clearTimeout(timer);
      return disconnect(wire);
    },
  };
}

function connectPacket(opts: ConsumerSessionOptions): Packet {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    // A persistent session [MQTT-3.1.2-4]: the broker keeps our subscriptions
    // and the QoS 1 messages not yet acknowledged while we are away, and
    // resends them when this ClientId reconnects [MQTT-4.4.0-1].
    clean: false,
    clientId: opts.clientId,
    keepalive: opts.keepaliveS,
    ...(opts.username === undefined ? {} : { username: opts.username }),
    ...(opts.password === undefined ? {} : { password: Buffer.from(opts.password) }),
  };
}

/** Ends a connection with DISCONNECT, after the PUBACKs already written. */
function disconnect(w: Wire | undefined): Promise<void> {
  if (w === undefined || !w.live) return Promise.resolve();
  return new Promise<void>((resolve) => {
    w.socket.once('close', () => resolve());
    w.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  });
}

/** Resolves at the first SUBACK; rejects when the session fails before it. Later failures are the reconnect loop's. */
function firstSubscription() {
  let done = false;
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // the caller may not be waiting yet
  return {
    promise,
    succeed() {
      done = true;
      resolve();
    },
    fail(err: Error) {
      if (!done) reject(err);
    },
  };
}

/** PINGREQ every keep-alive period; no PINGRESP by the next one: the connection is half-open. */
function keepAlive(w: Wire, keepaliveS: number): void {
  w.ping = setInterval(() => {
    if (w.awaitingPong) w.socket.destroy();
    else if (w.live) {
      w.awaitingPong = true;
      w.socket.write(mqttPacket.generate({ cmd: 'pingreq' }));
    }
  }, keepaliveS * 1000);
}

/**
 * No ack for a message whose readings did not commit: the broker resends
 * an unacknowledged message only on a new connection [MQTT-4.4.0-1], so the
 * connection is dropped, and the reconnect makes the broker resend it. The
 * key (device, metric, ts) absorbs a duplicate.
 */
function refuse(log: Logger, w: Wire, err: Error): void {
  if (!w.live) return;
  log.warn(
    { code: (err as { code?: string }).code, err: err.message },
    'ingest: message not committed; reconnecting for redelivery',
  );
  w.live = false;
  w.socket.destroy();
}
