// The optional MQTT listeners beside the plain TCP one: TLS when a
// certificate and key are configured, WebSocket when --ws is set. All of them
// hand connections to the same function, so limits and hooks apply alike.

import type { ErrorCode, GatewayError } from '../../core/errors.js';
import type { GatewayConfig } from '../config.js';
import type { HandleConnection, MqttListener } from './mqtt-listener.js';
import { startTlsListener } from './tls-listener.js';
import { startWsListener } from './ws-listener.js';

type ListenerConfig = Pick<
  GatewayConfig,
  | 'host'
  | 'tlsPort'
  | 'tlsCert'
  | 'tlsKey'
  | 'tlsCa'
  | 'ws'
  | 'wsPort'
  | 'wsAllowedOrigins'
  | 'connectTimeoutMs'
> & { maxPacketBytes?: number; tcpKeepaliveS?: number };

export interface ListenerEvents {
  /** a connection refused before it reached the broker (a WebSocket page from a foreign origin) */
  onRefused?: (code: ErrorCode, err: GatewayError) => void;
}

/** Starts them in turn; if one fails, those already started are closed and the error rethrown. */
export async function startExtraListeners(
  config: ListenerConfig,
  handle: HandleConnection,
  events: ListenerEvents = {},
): Promise<MqttListener[]> {
  const started: MqttListener[] = [];
  try {
    if (config.tlsCert !== '' || config.tlsKey !== '') {
      started.push(
        await startTlsListener({
          host: config.host,
          port: config.tlsPort,
          certFile: config.tlsCert,
          keyFile: config.tlsKey,
          caFile: config.tlsCa,
          handshakeTimeoutMs: config.connectTimeoutMs,
          handle,
        }),
      );
    }
    if (config.ws) {
      started.push(
        await startWsListener({
          host: config.host,
          port: config.wsPort,
          // One WebSocket message may carry a whole MQTT packet and then some.
          maxMessageBytes: (config.maxPacketBytes ?? 1 << 20) + 1024,
          allowedOrigins: config.wsAllowedOrigins,
          handle,
          tcpKeepaliveMs: (config.tcpKeepaliveS ?? 0) * 1000,
          ...(events.onRefused === undefined ? {} : { onRefused: events.onRefused }),
        }),
      );
    }
  } catch (err) {
    await closeListeners(started);
    throw err;
  }
  return started;
}

export async function closeListeners(listeners: readonly MqttListener[]): Promise<void> {
  const closed = Promise.all(listeners.map((l) => l.close()));
  for (const l of listeners) l.destroyConnections();
  await closed;
}
