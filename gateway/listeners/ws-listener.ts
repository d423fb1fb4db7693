// MQTT over WebSocket (conventionally 8083, path /mqtt, subprotocol "mqtt").
// Each WebSocket becomes a byte stream for aedes; aedes keeps the upgrade
// request (client.req) for the hooks.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { ErrorCode, GatewayError } from '../../core/errors.js';
import { listen } from '../listen.js';
import type { HandleConnection, MqttListener } from './mqtt-listener.js';
import { createOriginCheck } from './ws-origin.js';

export const WS_PATH = '/mqtt';

/** "mqtt" is MQTT 3.1.1's registered subprotocol; some 3.1 clients still send "mqttv3.1". */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

export interface WsListenerOptions {
  host: string;
  port: number;
  /** largest WebSocket message accepted; ws' own default is 100 MiB */
  maxMessageBytes: number;
  /** --ws-allowed-origins: an upgrade with another Origin header gets 403 unless it names this listener (ws-origin.ts) */
  allowedOrigins: string;
  handle: HandleConnection;
  /** idle ms before TCP keepalive probes start on each socket; 0: none (gateway/limits/connection-guard.ts) */
  tcpKeepaliveMs?: number;
  /** an upgrade refused, with the reason */
  onRefused?: (code: ErrorCode, err: GatewayError) => void;
}

export async function startWsListener(opts: WsListenerOptions): Promise<MqttListener> {
  const checkOrigin = createOriginCheck(opts.allowedOrigins, opts.host);
  const sockets = new Set<Socket>();
  const http = createServer((_req: IncomingMessage, res: ServerResponse) => {
    // Without this a plain GET would hang until its socket times out.
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end(`MQTT over WebSocket: connect to ${WS_PATH} with subprotocol "mqtt"\n`);
  });
  http.on('connection', (socket: Socket) => {
    if ((opts.tcpKeepaliveMs ?? 0) > 0) socket.setKeepAlive(true, opts.tcpKeepaliveMs);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({
    server: http,
    path: WS_PATH,
    maxPayload: opts.maxMessageBytes,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    // Runs before the upgrade completes: a refused page never reaches aedes.
    verifyClient: (info, done) => {
      const err = checkOrigin(info.origin, info.req.headers.host);
      if (err === undefined) return done(true);
      opts.onRefused?.(err.code, err);
      const body = JSON.stringify({ error: { code: err.code, message: err.message } });
      done(false, 403, body, { 'Content-Type': 'application/json' });
    },
  });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    // A peer that breaks the WebSocket framing errors the stream; aedes sees the close.
    stream.on('error', () => ws.terminate());
    opts.handle(stream, req);
  });

  const address = await listen(http, 'MQTT/WebSocket', opts.host, opts.port);
  return {
    name: 'ws',
    address,
    close: () =>
      new Promise<void>((resolve) => {
        wss.close();
        http.close(() => resolve());
      }),
    destroyConnections() {
      for (const ws of wss.clients) ws.terminate();
      for (const socket of sockets) socket.destroy();
    },
  };
}
