// aedes 1.2 has no maximum packet size: mqtt-packet buffers whatever
// Remaining Length a client declares (aedes #1086), so one socket can make
// the gateway hold megabytes while it stalls. This scanner reads only the
// fixed header of each packet [MQTT-2.2] and skips bodies by count, so its
// cost is per packet, not per byte, and it never copies a chunk.

import type { Duplex } from 'node:stream';
import { GatewayError, gatewayError } from '../../core/errors.js';

export interface PacketSizeScanner {
  /** Scans the next chunk of the stream; returns the error of the first offending packet. */
  scan(chunk: Uint8Array): GatewayError | undefined;
}

export function createPacketSizeScanner(maxPacketBytes: number): PacketSizeScanner {
  // Bytes of the current packet's body still to skip.
  let skip = 0;
  // Inside a Remaining Length varint: how many of its bytes were read, and the value so far.
  let inLength = false;
  let lengthBytes = 0;
  let length = 0;
  let multiplier = 1;

  return {
    scan(chunk) {
      const n = chunk.length;
      let i = 0;
      while (i < n) {
        if (skip > 0) {
          const step = Math.min(skip, n - i);
          skip -= step;
          i += step;
          continue;
        }
        if (!inLength) {
          // byte 1: packet type and flags; the parser judges those
          i++;
          inLength = true;
          lengthBytes = 0;
          length = 0;
          multiplier = 1;
          continue;
        }
        const byte = chunk[i++]!;
        lengthBytes++;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        const total = 1 + lengthBytes + length;
        if (total > maxPacketBytes)
          return new GatewayError('GW_ERR_PACKET_TOO_LARGE', [total, maxPacketBytes]);
        if ((byte & 0x80) !== 0) {
          // [MQTT-2.2.3] the Remaining Length has at most four bytes
          if (lengthBytes === 4)
            return gatewayError('GW_ERR_PACKET_MALFORMED', 'Remaining Length over 4 bytes');
          continue;
        }
        inLength = false;
        skip = length;
      }
      return undefined;
    },
  };
}

/**
 * Puts the scanner in front of the MQTT parser of `conn` and destroys the
 * connection at the first packet over the limit, before its body is read.
 *
 * Call it AFTER aedes' `broker.handle(conn)`: aedes reads with a 'readable'
 * listener and `read()`, and a 'data' listener added after that does not
 * switch the stream to flowing mode, so aedes' backpressure is unchanged;
 * 'data' is then emitted from inside each `read()`, before aedes parses the
 * chunk. Whatever of an offending chunk still reaches the parser is refused
 * by the publish authorizer, which turns away publishes on a destroyed
 * connection.
 */
export function guardPacketSize(
  conn: Duplex,
  maxPacketBytes: number,
  onViolation: (err: GatewayError) => void,
): void {
  const scanner = createPacketSizeScanner(maxPacketBytes);
  const onData = (chunk: Uint8Array) => {
    const err = scanner.scan(chunk);
    if (err === undefined) return;
    conn.off('data', onData);
    onViolation(err);
    conn.destroy();
  };
  conn.on('data', onData);
}
