// The edge gateway's session on its upstream broker (docs/edge.md): a stable
// ClientId and clean=false, and reconnects of our own at a short, capped
// backoff. QoS 1 messages still unacknowledged when the link drops are sent
// again after the reconnect [MQTT-4.4.0-1], as new packets read again from
// the forward log.

import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay } from '../../core/backoff.js';
import type { Upstream } from '../../pipelines/forward/forwarder.js';

export interface UpstreamSessionOptions {
  /** mqtt://host:1883 or mqtts://host:8883 */
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** PEM files for mqtts:// */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  logger: Logger;
  backoff: BackoffPolicy;
  /** each (re)connection, after CONNACK */
  onConnect: () => void;
}

export interface UpstreamSession extends Upstream {
  /** connections made, the first included */
  readonly connects: number;
  close(): Promise<void>;
}

export function openUpstreamSession(opts: UpstreamSessionOptions): UpstreamSession {
  const log = opts.logger.child({ upstream: opts.url, clientId: opts.clientId });
  const client: MqttClient = mqtt.connect(opts.url, clientOptions(opts));
  let attempt = 0;
  let connects = 0;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;

  client.on('connect', (connack) => {
    attempt = 0;
    connects++;
    log.info({ sessionPresent: connack.sessionPresent }, 'forward: connected upstream');
    opts.onConnect();
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'forward: upstream connection error'));
  client.on('close', () => {
    // What this connection left unacknowledged fails now, and the forwarder
    // sends it again from the cursor in the database (pipelines/forward/).
    // mqtt.js would resend it itself, but its reconnect() starts a new empty
    // outgoing store and leaves those callbacks waiting forever (mqtt 5.16
    // client.js reconnect()); the database is the one store to trust.
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    if (closing) return;
    const delay = backoffDelay(attempt++, opts.backoff);
    if (attempt === 1) log.warn({ delayMs: delay }, 'forward: upstream lost; reconnecting');
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closing) client.reconnect();
    }, delay);
  });

  return {
    get connected() {
      return client.connected;
    },
    get connects() {
      return connects;
    },
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
      }),
    async close() {
      closing = true;
      clearTimeout(timer);
      // force: whatever is unacknowledged is still owed in the log and goes again next start.
      await client.endAsync(true);
    },
  };
}

function clientOptions(opts: UpstreamSessionOptions): IClientOptions {
  return {
    clientId: opts.clientId,
    // A persistent session [MQTT-3.1.2-4], kept under one ClientId across restarts.
    clean: false,
    protocolVersion: 4,
    keepalive: 30,
    connectTimeout: 5_000,
    // Reconnects are ours (above): mqtt.js' own timer has a fixed period.
    reconnectPeriod: 0,
    ...(opts.username === undefined ? {} : { username: opts.username }),
    ...(opts.password === undefined ? {} : { password: opts.password }),
    ...(opts.caFile === undefined ? {} : { ca: readFileSync(opts.caFile) }),
    ...(opts.certFile === undefined ? {} : { cert: readFileSync(opts.certFile) }),
    ...(opts.keyFile === undefined ? {} : { key: readFileSync(opts.keyFile) }),
  };
}
