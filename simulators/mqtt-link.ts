// DeviceLink over mqtt.js, as a plain MQTT 3.1.1 client (protocolVersion 4) so
// it works against any broker. Reconnection is ours (backoff with jitter),
// so mqtt.js' own fixed-period reconnect is off.

import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';
import type { DeviceLink, LinkEvents, LinkFactory, LinkSpec } from './device-link.js';

export interface MqttLinkOptions {
  host: string;
  port: number;
  keepaliveS: number;
  connectTimeoutMs: number;
}

export function createMqttLinkFactory(options: MqttLinkOptions): LinkFactory {
  return (spec, events) => createMqttLink(options, spec, events);
}

function createMqttLink(options: MqttLinkOptions, spec: LinkSpec, events: LinkEvents): DeviceLink {
  const topic = `devices/${spec.deviceId}/telemetry`;
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
    if (!closed) events.up();
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
      client.publish(topic, payload, { qos }, (err) => done(err ?? undefined));
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
