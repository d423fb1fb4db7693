// A raw MQTT connection for hostile tests: bytes out exactly as given,
// packets in as mqtt-packet parses them. Waits are on events, never timers.

import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface RawConnection {
  socket: Socket;
  /** every packet received so far */
  packets: Packet[];
  send(bytes: Uint8Array): void;
  /** resolves with the next packet of that type (or any, when cmd is omitted), rejects on close */
  next(cmd?: Packet['cmd']): Promise<Packet>;
  /** resolves with the first packet, already received or still to come, that matches */
  until(match: (p: Packet) => boolean): Promise<Packet>;
  /** resolves when the gateway closed the connection */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  /**
   * Sends PINGREQ and resolves 'open' on PINGRESP, 'closed' if the
   * connection closes first. It tells "ignored and still connected" from
   * "disconnected" without waiting on a clock.
   */
  ping(): Promise<'open' | 'closed'>;
  destroy(): void;
}

export async function openRaw(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  const socket = connect({ port, host });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  const waiters: Array<{
    cmd: string | undefined;
    resolve: (p: Packet) => void;
    reject: (e: Error) => void;
  }> = [];
  const matchers: Array<{
    match: (p: Packet) => boolean;
    resolve: (p: Packet) => void;
    reject: (e: Error) => void;
  }> = [];
  let isClosed = false;
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      isClosed = true;
      for (const w of waiters.splice(0)) w.reject(new Error('closed'));
      for (const m of matchers.splice(0)) m.reject(new Error('closed'));
      resolve();
    });
  });
  socket.on('error', () => {});
  parser.on('packet', (p) => {
    packets.push(p);
    const i = waiters.findIndex((w) => w.cmd === undefined || w.cmd === p.cmd);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(p);
    for (let j = matchers.length - 1; j >= 0; j--) {
      if (matchers[j]!.match(p)) matchers.splice(j, 1)[0]!.resolve(p);
    }
  });
  parser.on('error', () => socket.destroy());
  socket.on('data', (d) => parser.parse(d));
  const conn: RawConnection = {
    socket,
    packets,
    send(bytes) {
      if (!socket.destroyed) socket.write(bytes);
    },
    next(cmd) {
      if (isClosed) return Promise.reject(new Error('closed'));
      return new Promise((resolve, reject) => waiters.push({ cmd, resolve, reject }));
    },
    until(match) {
      const found = packets.find(match);
      if (found !== undefined) return Promise.resolve(found);
      if (isClosed) return Promise.reject(new Error('closed'));
      return new Promise((resolve, reject) => matchers.push({ match, resolve, reject }));
    },
    closed,
    get isClosed() {
      return isClosed;
    },
    async ping() {
      if (isClosed) return 'closed';
      const pong = conn.next('pingresp').then(
        () => 'open' as const,
        () => 'closed' as const,
      );
      conn.send(mqttPacket.generate({ cmd: 'pingreq' }));
      return pong;
    },
    destroy() {
      socket.destroy();
    },
  };
  return conn;
}

/** An MQTT 3.1.1 CONNECT with a clean session and a 60 s keepalive. */
export function connectPacket(
  clientId: string,
  extra: Partial<mqttPacket.IConnectPacket> = {},
): mqttPacket.IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 60,
    ...extra,
  };
}

export function connectBytes(clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}): Buffer {
  return mqttPacket.generate(connectPacket(clientId, extra));
}

/** A raw connection that has sent CONNECT and received CONNACK 0. */
export async function openConnected(port: number, clientId: string): Promise<RawConnection> {
  const conn = await openRaw(port);
  const connack = conn.next('connack');
  conn.send(connectBytes(clientId));
  const p = await connack;
  if (p.cmd !== 'connack' || p.returnCode !== 0) throw new Error(`CONNACK ${JSON.stringify(p)}`);
  return conn;
}

export function publishBytes(
  topic: string,
  payload: string | Buffer,
  qos: 0 | 1 | 2 = 1,
  messageId = 1,
): Buffer {
  return mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload,
    qos,
    ...(qos > 0 ? { messageId } : {}),
    retain: false,
    dup: false,
  });
}
