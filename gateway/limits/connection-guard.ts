// One guard for every listener (TCP now; TLS and WebSocket call the same
// function): a cap on open connections across all of them, TCP keepalive on
// the socket, and the packet size check in front of the MQTT parser.
// Refusals are reported by code.

import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type ErrorCode, GatewayError } from '../../core/errors.js';
import { guardPacketSize } from './packet-size-guard.js';

/** Clients remembered as already warned about; past this the oldest is forgotten. */
const WARNED_MAX = 10_000;

export interface ConnectionGuardOptions {
  maxConnections: number;
  maxPacketBytes: number;
  /**
   * Idle ms before TCP keepalive probes start; 0: none. MQTT keepalive 0 is
   * allowed [MQTT-3.1.2.10], so the kernel's probes are what reap the
   * half-open connection of a device that vanished without a FIN.
   */
  tcpKeepaliveMs?: number;
  /** a connection refused or closed by a limit, with the reason */
  onRefused: (code: ErrorCode, err: GatewayError) => void;
  /**
   * Where a connection closed for its packet size is logged at warn, once
   * per client (ClientId, or the peer address before CONNECT): a device
   * whose messages outgrew --max-packet-bytes otherwise just reconnects in a
   * loop with nothing in the log to say why.
   */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * The packet size check, for a reader in front of the MQTT parser that reads
 * every fixed header anyway (the publish lane): it claims the check, and the
 * guard adds no scanner of its own to the stream.
 */
export interface PacketSizeCheck {
  readonly maxPacketBytes: number;
  claim(): void;
  /** The first packet over the limit, or a malformed header: counted, logged, and the connection destroyed. */
  violated(err: GatewayError): void;
}

export interface ConnectionGuard {
  /**
   * Admits `conn` if fewer than maxConnections are open, hands it to
   * `handle` (e.g. `(c) => broker.handle(c, req)`, whose aedes Client names
   * the ClientId in the packet-size warning), then guards its packet
   * size, unless `handle` claimed that check. Over the cap it is destroyed
   * at once and false is returned.
   * Usable with any duplex: net.Socket, TLSSocket, a WebSocket stream.
   */
  accept(conn: Duplex, handle: (conn: Duplex, size: PacketSizeCheck) => unknown): boolean;
  /** connections admitted and not yet closed, over all listeners */
  readonly open: number;
}

export function createConnectionGuard(options: ConnectionGuardOptions): ConnectionGuard {
  const { maxConnections, maxPacketBytes, onRefused } = options;
  const tcpKeepaliveMs = options.tcpKeepaliveMs ?? 0;
  const logger = options.logger;
  const warned = new Map<string, true>();
  let open = 0;

  const warnOnce = (err: GatewayError, client: unknown, conn: Duplex) => {
    if (logger === undefined) return;
    const id = (client as { id?: unknown } | undefined)?.id;
    const clientId = typeof id === 'string' ? id : undefined;
    const remoteAddress = conn instanceof Socket ? conn.remoteAddress : undefined;
    const key = clientId ?? `@${remoteAddress ?? '?'}`;
    if (warned.has(key)) return;
    if (warned.size >= WARNED_MAX) warned.delete(warned.keys().next().value!);
    warned.set(key, true);
    logger.warn(
      { code: err.code, clientId, remoteAddress, maxPacketBytes, err: err.message },
      'connection closed: MQTT packet over --max-packet-bytes (logged once per client)',
    );
  };
  return {
    accept(conn, handle) {
      if (open >= maxConnections) {
        // Nothing was read yet: closing now costs the gateway nothing.
        conn.destroy();
        onRefused(
          'GW_ERR_TOO_MANY_CONNECTIONS',
          new GatewayError('GW_ERR_TOO_MANY_CONNECTIONS', [open, maxConnections]),
        );
        return false;
      }
      open++;
      // TLSSocket is a Socket too (its handle proxies setKeepAlive to the TCP
      // one); the WebSocket listener sets it on the HTTP socket under the stream.
      if (tcpKeepaliveMs > 0 && conn instanceof Socket) conn.setKeepAlive(true, tcpKeepaliveMs);
      conn.once('close', () => {
        open--;
      });
      let client: unknown;
      let claimed = false;
      const violated = (err: GatewayError) => {
        onRefused(err.code, err);
        warnOnce(err, client, conn);
      };
      client = handle(conn, {
        maxPacketBytes,
        claim: () => {
          claimed = true;
        },
        violated: (err) => {
          violated(err);
          conn.destroy();
        },
      });
      if (!claimed) guardPacketSize(conn, maxPacketBytes, violated);
      return true;
    },
    get open() {
      return open;
    },
  };
}
