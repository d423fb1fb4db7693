// A subscriber that never reads must not stall everyone else. aedes delivers
// through mqemitter with a fixed concurrency (100); each delivery to a full
// socket waits for 'drain' (up to drainTimeout) while holding its slot, so a
// few `#` subscribers that stop reading freeze routing for every publisher,
// and with it the next packets of every device connection (measured: all
// PUBACKs stopped for the whole drain timeout). This authorizeForward hook
// drops a delivery that would overfill the subscriber's socket buffer
// instead, as Mosquitto drops for a full queue, and disconnects a subscriber
// that has not read for drainTimeoutMs.

import type { AedesOptions, AedesPublishPacket } from 'aedes';
import { type ErrorCode, GatewayError } from '../../core/errors.js';

type AuthorizeForward = NonNullable<AedesOptions['authorizeForward']>;
type Client = Parameters<AuthorizeForward>[0];

export interface SlowSubscriberGuardOptions {
  drainTimeoutMs: number;
  now?: () => number;
  /** GW_ERR_SUBSCRIBER_SLOW per dropped delivery; GW_ERR_SUBSCRIBER_STALLED per disconnect */
  onLimit: (code: ErrorCode, err?: GatewayError) => void;
  /** the hook to run for deliveries that fit (e.g. an ACL) */
  next?: AuthorizeForward;
}

// fixed header (1) + Remaining Length (up to 4) + topic length (2) + packet id (2)
const HEADER_BYTES = 9;

export function createSlowSubscriberGuard(options: SlowSubscriberGuardOptions): AuthorizeForward {
  const now = options.now ?? Date.now;
  const stalledSince = new WeakMap<Client, number>();
  return (client, packet) => {
    const conn = client.conn;
    const buffered = conn.writableLength;
    // An empty buffer always takes the packet, so a message larger than the
    // high-water mark still reaches subscribers that read.
    if (buffered > 0 && buffered + packetBytes(packet) >= conn.writableHighWaterMark) {
      const since = stalledSince.get(client);
      const t = now();
      if (since === undefined) stalledSince.set(client, t);
      else if (t - since >= options.drainTimeoutMs && !conn.destroyed) {
        options.onLimit(
          'GW_ERR_SUBSCRIBER_STALLED',
          new GatewayError('GW_ERR_SUBSCRIBER_STALLED', [client.id, t - since]),
        );
        conn.destroy();
        return null;
      }
      options.onLimit('GW_ERR_SUBSCRIBER_SLOW');
      return null;
    }
    stalledSince.delete(client);
    return options.next === undefined ? packet : options.next(client, packet);
  };
}

function packetBytes(packet: AedesPublishPacket): number {
  const payload = packet.payload;
  const payloadBytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  return HEADER_BYTES + Buffer.byteLength(packet.topic) + payloadBytes;
}
