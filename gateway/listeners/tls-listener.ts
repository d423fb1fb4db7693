// MQTT over TLS (conventionally 8883). With a CA, clients may present a
// certificate: one it signed authenticates the device named by its CN
// (gateway/auth/connect-authenticator.ts). Clients without one still connect
// and authenticate with a token, which is why rejectUnauthorized is off: the
// decision is made at CONNECT, where it can be answered with a CONNACK.

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { wrapError } from '../../core/errors.js';
import { listen } from '../listen.js';
import type { HandleConnection, MqttListener } from './mqtt-listener.js';

export interface TlsListenerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  /** CA for client certificates; '' for none */
  caFile: string;
  /** a TLS handshake must finish within this, like CONNECT must */
  handshakeTimeoutMs: number;
  handle: HandleConnection;
}

export async function startTlsListener(opts: TlsListenerOptions): Promise<MqttListener> {
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw wrapError('GW_ERR_TLS_CONFIG', err, what, file);
    }
  };
  const cert = read('certificate', opts.certFile);
  const key = read('key', opts.keyFile);
  const ca = opts.caFile === '' ? undefined : read('CA', opts.caFile);

  const sockets = new Set<Socket>();
  let server: ReturnType<typeof createServer>;
  try {
    server = createServer(
      {
        cert,
        key,
        ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: false }),
        handshakeTimeout: opts.handshakeTimeoutMs,
        minVersion: 'TLSv1.2',
      },
      (socket: TLSSocket) => opts.handle(socket),
    );
  } catch (err) {
    throw wrapError('GW_ERR_TLS_CONFIG', err, 'certificate or key', `${opts.certFile}, ${opts.keyFile}`);
  }
  // Raw sockets, tracked from accept: a peer stuck in the handshake is closed on shutdown too.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A failed handshake (plain MQTT, garbage, an expired client cert) ends that socket only.
  server.on('tlsClientError', (_err, socket) => socket.destroy());

  const address = await listen(server, 'MQTT/TLS', opts.host, opts.port);
  return {
    name: 'tls',
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    destroyConnections() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
