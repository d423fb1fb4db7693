// DeviceLink over mqtt.js, as a plain MQTT 3.1.1 client (protocolVersion 4) so
// it works against any broker. Reconnection is ours (backoff with jitter),
// so mqtt.js' own fixed-period reconnect is off.

import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';
import type { DeviceLink, LinkEvents, LinkFactory, LinkSpec } from './device-link.js';
import { createFormatter, type DeviceFormatter, type SimFormat } from './payload-formats.js';

export interface MqttLinkOptions {
  host: string;
  port: number;
  keepaliveS: number;
  connectTimeoutMs: number;
  /** a firmware's payload format (docs/sensors.md); absent or json: the devices/ contract */
  format?: SimFormat;
  /** the metrics of each reading, in order, for the formats that name them */
  metrics?: readonly string[];
}

export function createMqttLinkFactory(options: MqttLinkOptions): LinkFactory {
  return (spec, events) => createMqttLink(options, spec, events);
}

function createMqttLink(options: MqttLinkOptions, spec: LinkSpec, events: LinkEvents): DeviceLink {
  const topic = `devices/${spec.deviceId}/telemetry`;
  const metrics = options.metrics ?? [];
  const formatter =
    options.format === undefined || options.format === 'json'
      ? undefined
      : createFormatter(options.format, spec.deviceId, metrics);
  // mqtt.js' tcp builder drops localAddress, so build the socket here; it is
  // what spreads >25k clients over several loopback source addresses.
  const client = new MqttClient(
    () => {
      const socket = createConnection({
        host: options.host,
        port: options.port,
        ...(spec.localAddress ? { localAddress: spec.localAddress } : {}),
      });
      socket.setNoDelay(true);
      return socket;
    },
    {
      clientId: spec.deviceId,
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: options.keepaliveS,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: 0,
      manualConnect: true,
      // Rescheduling the ping timer on every publish costs a timer per message.
      reschedulePings: false,
      resubscribe: false,
      queueQoSZero: false,
      ...(spec.username === undefined ? {} : { username: spec.username }),
      ...(spec.password === undefined ? {} : { password: spec.password }),
    },
  );
  let opened = false;
  let closed = false;
  client.on('connect', () => {
    if (closed) return;
    // Discovery configs and Sparkplug's NBIRTH go first on every connection: queued ahead of any reading.
    for (const hello of formatter?.hello() ?? [])
      client.publish(hello.topic, hello.payload, { qos: 1, retain: hello.retain });
    events.up();
  });
  client.on('close', () => {
    if (!closed) events.down();
  });
  client.on('error', (err) => {
    if (!closed) events.error(err);
  });

  return {
    open() {
      if (closed) return;
      if (!opened) {
        opened = true;
        client.connect();
        return;
      }
      // Hand the stores back: plain reconnect() would start empty ones and
      // strand the unacked QoS 1 messages instead of resending them.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    },
    drop() {
      if (opened && !closed) client.stream?.destroy();
    },
    publish(payload, qos, done) {
      if (formatter === undefined) client.publish(topic, payload, { qos }, (err) => done(err ?? undefined));
      else publishFormatted(client, formatter, metrics, payload, qos, done);
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      if (!opened) return Promise.resolve();
      return new Promise((resolve) => {
        client.end(true, {}, () => resolve());
      });
    },
  };
}

/**
 * The sampler's JSON (one reading, or an array for a batch or a replay) in a
 * firmware's format: a message per reading, as such a device sends them;
 * `done` once every one of them is acked, with the first error if any.
 */
function publishFormatted(
  client: MqttClient,
  formatter: DeviceFormatter,
  metrics: readonly string[],
  json: string,
  qos: 0 | 1 | 2,
  done: (err?: Error) => void,
): void {
  const parsed = JSON.parse(json) as Reading | Reading[];
  const readings = Array.isArray(parsed) ? parsed : [parsed];
  let left = readings.length;
  let failure: Error | undefined;
  for (const r of readings) {
    const m = formatter.encode(
      metrics.map((name) => r.values[name] ?? 0),
      r.ts,
    );
    client.publish(m.topic, m.payload, { qos }, (err) => {
      failure ??= err ?? undefined;
      if (--left === 0) done(failure);
    });
  }
}

interface Reading {
  ts: number;
  values: Record<string, number>;
}
