// A device connection with nothing in it but the protocol: raw socket plus
// mqtt-packet. mqtt.js costs too much CPU per message to measure a broker's
// ceiling from the same 2-core machine (field notes), and tests need to see
// exactly which PUBACKs arrived before a kill -9.

import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface LeanPublisherOptions {
  host: string;
  port: number;
  clientId: string;
  username?: string;
  password?: string;
  localAddress?: string;
  keepalive?: number;
}

export interface LeanPublisher {
  /** Resolves with the ack latency in ms once PUBACK (QoS 1) or PUBCOMP (QoS 2) arrives. */
  publish(topic: string, payload: string | Buffer, qos?: 0 | 1 | 2): Promise<number>;
  /**
   * Sends a QoS 1 PUBLISH encoded by the caller around the given message id:
   * load generators pre-encode packets and patch a few bytes, so the
   * generator's CPU is not what limits the measurement.
   */
  publishEncoded(encode: (messageId: number) => Buffer): Promise<number>;
  readonly inFlight: number;
  /** Rejects every publish still waiting for its ack. */
  end(): Promise<void>;
  destroy(): void;
  readonly closed: Promise<void>;
}

interface Pending {
  sentAt: number;
  resolve: (latencyMs: number) => void;
  reject: (err: Error) => void;
}

export class LeanPublisherClosed extends Error {
  readonly code = 'LEAN_CLOSED';
}

export function connectLeanPublisher(options: LeanPublisherOptions): Promise<LeanPublisher> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({
      host: options.host,
      port: options.port,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const pending = new Map<number, Pending>();
    let nextId = 1;
    let connected = false;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => {
      resolveClosed = r;
    });

    const failAll = (err: Error) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    const settle = (id: number) => {
      const p = pending.get(id);
      if (p === undefined) return;
      pending.delete(id);
      p.resolve(performance.now() - p.sentAt);
    };

    parser.on('packet', (packet) => {
      switch (packet.cmd) {
        case 'connack':
          if (packet.returnCode !== 0) {
            reject(new Error(`CONNACK return code ${packet.returnCode}`));
            socket.destroy();
            return;
          }
          connected = true;
          resolve(client);
          return;
        case 'puback':
        case 'pubcomp':
          if (packet.messageId !== undefined) settle(packet.messageId);
          return;
        case 'pubrec':
          socket.write(mqttPacket.generate({ cmd: 'pubrel', messageId: packet.messageId ?? 0 }));
          return;
        default:
          return;
      }
    });
    parser.on('error', (err) => socket.destroy(err));
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', (err) => {
      if (!connected) reject(err);
    });
    socket.on('close', () => {
      failAll(new LeanPublisherClosed('connection closed before the ack'));
      if (!connected) reject(new LeanPublisherClosed('connection closed before CONNACK'));
      resolveClosed();
    });
    socket.on('connect', () => {
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: options.clientId,
          keepalive: options.keepalive ?? 60,
          ...(options.username === undefined ? {} : { username: options.username }),
          ...(options.password === undefined ? {} : { password: Buffer.from(options.password) }),
        }),
      );
    });

    const client: LeanPublisher = {
      publish(topic, payload, qos = 1) {
        if (socket.destroyed) return Promise.reject(new LeanPublisherClosed('connection closed'));
        if (qos === 0) {
          socket.write(
            mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }),
          );
          return Promise.resolve(0);
        }
        const messageId = nextId;
        nextId = nextId === 65535 ? 1 : nextId + 1;
        return new Promise<number>((res, rej) => {
          pending.set(messageId, { sentAt: performance.now(), resolve: res, reject: rej });
          socket.write(
            mqttPacket.generate({
              cmd: 'publish',
              topic,
              payload,
              qos,
              messageId,
              retain: false,
              dup: false,
            }),
          );
        });
      },
      publishEncoded(encode) {
        if (socket.destroyed) return Promise.reject(new LeanPublisherClosed('connection closed'));
        const messageId = nextId;
        nextId = nextId === 65535 ? 1 : nextId + 1;
        return new Promise<number>((res, rej) => {
          pending.set(messageId, { sentAt: performance.now(), resolve: res, reject: rej });
          socket.write(encode(messageId));
        });
      },
      get inFlight() {
        return pending.size;
      },
      end() {
        if (!socket.destroyed) socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
        return closed;
      },
      destroy() {
        socket.destroy();
      },
      closed,
    };
  });
}
