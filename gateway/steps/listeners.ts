import { createServer, type Socket } from 'node:net';
import type { GatewayConfig } from '../config.js';
import { type BoundAddress, listen } from '../listen.js';
import type { HandleConnection, MqttListener } from '../listeners/mqtt-listener.js';
import { startExtraListeners } from '../listeners/start-listeners.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Started } from './lifecycle.js';

export interface ListenersStepDeps {
  config: Pick<
    GatewayConfig,
    | 'host'
    | 'mqttPort'
    | 'tlsPort'
    | 'tlsCert'
    | 'tlsKey'
    | 'tlsCa'
    | 'ws'
    | 'wsPort'
    | 'wsAllowedOrigins'
    | 'connectTimeoutMs'
    | 'maxPacketBytes'
  >;
  handle: HandleConnection;
  metrics: Pick<GatewayMetrics, 'authRefused'>;
}

export interface BoundListeners {
  mqtt: BoundAddress;
  tls?: BoundAddress;
  ws?: BoundAddress;
}

/** MQTT over TCP, then TLS and WebSocket when configured; all hand connections to the broker's guard. */
export async function listenersStep(deps: ListenersStepDeps): Promise<Started<BoundListeners>> {
  const { config, handle } = deps;
  // aedes only closes clients that finished CONNECT; shutdown must also end
  // sockets still in the handshake.
  const sockets = new Set<Socket>();
  const mqttServer = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    handle(socket);
  });
  const mqtt = await listen(mqttServer, 'MQTT', config.host, config.mqttPort);
  let extra: MqttListener[];
  try {
    extra = await startExtraListeners(config, handle, {
      onRefused: (code) => deps.metrics.authRefused(code),
    });
  } catch (err) {
    mqttServer.close();
    throw err;
  }
  const address = (name: string) => extra.find((l) => l.name === name)?.address;
  const tls = address('tls');
  const ws = address('ws');

  let stopped: Promise<unknown> = Promise.resolve();
  return {
    provides: { mqtt, ...(tls === undefined ? {} : { tls }), ...(ws === undefined ? {} : { ws }) },
    stop: {
      refuse: () => {
        stopped = Promise.all([
          new Promise<void>((resolve) => mqttServer.close(() => resolve())),
          ...extra.map((l) => l.close()),
        ]);
      },
      // After the broker has closed its clients: what is left is still in the handshake.
      close: async () => {
        for (const socket of sockets) socket.destroy();
        for (const l of extra) l.destroyConnections();
        await stopped;
      },
    },
  };
}
