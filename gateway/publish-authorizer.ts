import type { AedesOptions, Client } from 'aedes';
import { type ErrorCode, gatewayError } from '../core/errors.js';
import type { PayloadAdapter } from '../pipelines/adapters/adapter.js';
import type { AdapterRegistry } from '../pipelines/adapters/adapter-registry.js';
import { isTelemetryTopic, routeTopic, type TopicRoute } from '../pipelines/decode-telemetry.js';
import type { DeviceNumbers } from '../pipelines/device-numbers.js';
import type { IngestPipeline } from '../pipelines/ingest-pipeline.js';
import type { IngestMessage } from '../pipelines/telemetry.js';
import { type ConnectionMemo, type ConnectionMemos, createConnectionMemos } from './connection-memo.js';
import type { PublishThrottle } from './limits/publish-throttle.js';
import type { LanePacket } from './publish-lane.js';
import type { ClientRing, ResendMemory, ResendTicket } from './resend-memory.js';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;

export interface PublishAuthorizerDeps {
  pipeline: IngestPipeline;
  isDraining: () => boolean;
  /** payload adapters for topics outside devices/ (pipelines/adapters/); without them those topics are plain MQTT */
  adapters?: Pick<AdapterRegistry, 'match'>;
  now?: () => number;
  /** each connection's memo, shared with the publish lane (gateway/connection-memo.ts); a registry of its own by default */
  memos?: ConnectionMemos;
  /** numbers a route's device, once per connection and topic, for the state kept per device behind the batch */
  deviceNumbers?: DeviceNumbers;
  /** per-device and per-connection budgets; over them a message is held, not refused (gateway/limits/publish-throttle.ts) */
  throttle?: PublishThrottle;
  /** recognises DUP resends of messages already admitted (gateway/resend-memory.ts) */
  resends?: ResendMemory;
  /** the authenticated device's allowed metrics, if its registry entry limits them (gateway/auth/) */
  allowedMetrics?: (client: Client | null) => ReadonlySet<string> | undefined;
  /** each QoS 1/2 ack released: ms it was held (gateway/ack-latency.ts) */
  acked?: (heldMs: number) => void;
  /**
   * Called before aedes writes an ack for this client: the publish lane
   * writes the PUBACKs it still owes the connection first (gateway/publish-lane.ts).
   */
  beforeAedesAck?: (client: Client) => void;
}

/**
 * aedes writes PUBACK right after authorizePublish calls back
 * (lib/handlers/publish.js), and PUBREC after it for QoS 2, so holding the
 * callback until the group commit is how "ack means stored" is kept. A held
 * callback also delays aedes reading the connection's next chunk, until its
 * packets are called back or new bytes arrive (lib/client.js nextBatch): it
 * slows reading, it does not stop it. A QoS 1/2 client is held back by its
 * own in-flight window; QoS 0 by the pipeline's high-water mark. Calling back
 * with an error makes aedes close the connection without an ack, and an MQTT
 * 3.1.1 client resends on reconnect [MQTT-4.4.0-1]; the resend memory
 * recognises it by ClientId, packet id and content, and the (device, metric,
 * ts) key absorbs what it cannot see. Over a rate budget a message is held
 * before the pipeline, never refused: its ack waits, and with it the sender
 * (gateway/limits/publish-throttle.ts).
 */
export function createPublishAuthorizer(deps: PublishAuthorizerDeps): AuthorizePublish {
  const now = deps.now ?? Date.now;
  // The publish lane hands each message its connection's memo; a message on
  // aedes' path finds the same one by its client. A will (no client) has none.
  const memos = deps.memos ?? createConnectionMemos();
  const memoOf = (client: Client | null, packet: Partial<LanePacket>): ConnectionMemo | undefined =>
    packet.memo ?? (client === null ? undefined : memos.of(client));
  // A sensor publishes on one topic, and the publish lane hands the same
  // string back each time (gateway/publish-lane.ts), so the route is found
  // once per connection.
  const numbered = (topic: string): TopicRoute | ErrorCode => {
    const route = routeTopic(topic);
    if (typeof route !== 'string' && deps.deviceNumbers !== undefined)
      route.deviceNo = deps.deviceNumbers.of(route.deviceId);
    return route;
  };
  const routeOf = (memo: ConnectionMemo | undefined, topic: string): TopicRoute | ErrorCode => {
    if (memo === undefined) return numbered(topic);
    if (memo.topic === topic && memo.route !== undefined) return memo.route;
    const route = numbered(topic);
    memo.topic = topic;
    memo.route = route;
    return route;
  };
  return (client, packet, callback) => {
    // Keep aedes' own refusal of $SYS publishes, wills included (aedes #597).
    if (packet.topic.startsWith('$SYS/')) return callback(gatewayError('GW_ERR_SYS_TOPIC'));
    // The rest of a chunk whose packet broke a limit is still parsed after the
    // connection was destroyed (gateway/limits/packet-size-guard.ts, on a
    // connection the publish lane does not take); none of it can be acked.
    // A will comes after close (client.closed) and is not refused here.
    if (client !== null && !client.closed && client.conn.destroyed)
      return callback(gatewayError('GW_ERR_CONNECTION_CLOSED'));
    // Only a will can carry QoS 3 this far (CONNECT refuses it, mqtt-packet a
    // PUBLISH with it); the pipeline knows 0, 1 and 2 [MQTT-3.1.2-14].
    if (packet.qos > 2)
      return callback(gatewayError('GW_ERR_WILL_INVALID', `QoS is ${packet.qos}, which MQTT forbids`));
    let adapter: PayloadAdapter | undefined;
    if (!isTelemetryTopic(packet.topic)) {
      // A topic an adapter owns goes through the pipeline too, then on to its
      // subscribers (and, retained, to later ones) as aedes routes it after the ack.
      adapter = deps.adapters?.match(packet.topic);
      if (adapter === undefined) return callback(null);
    }
    if (deps.isDraining()) return callback(gatewayError('GW_ERR_SHUTTING_DOWN'));

    const qos = packet.qos;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // The lane writes its own PUBACKs once the round is done; an ack aedes
    // writes for the same connection must follow those it still owes.
    const viaLane = (packet as Partial<LanePacket>).batchedAck === true;
    const beforeAedesAck = deps.beforeAedesAck;
    const ack =
      viaLane || client === null || beforeAedesAck === undefined || qos === 0
        ? callback
        : (err: Error | null) => {
            beforeAedesAck(client);
            callback(err);
          };
    const message = new HeldPublish(packet.topic, payload, qos, now(), client, ack, viaLane, deps);
    const memo = memoOf(client, packet);
    if (qos > 0 && client !== null && deps.resends !== undefined && packet.messageId !== undefined) {
      const seen = deps.resends.admitInto(
        message,
        client.id,
        packet.messageId,
        packet.dup === true,
        packet.topic,
        payload,
        message.receivedAt,
        memo,
      );
      switch (seen.kind) {
        case 'committed':
          return ack(null);
        case 'pending':
          return seen.wait((err) => ack(err ?? null));
        case 'retry':
          message.receivedAt = seen.receivedAt;
      }
    }
    // Read now, not after a hold: a closed session's identity is gone by then.
    const allowedMetrics = deps.allowedMetrics?.(client);
    if (allowedMetrics !== undefined) message.allowedMetrics = allowedMetrics;
    if (adapter !== undefined) message.adapter = adapter;
    // An adapter's topic names its device in the adapter's own way (tele/{device}/SENSOR,
    // zigbee2mqtt/{name}, spBv1.0/{group}/…/{edge}/{device}): the topic is the budget's key.
    const route = adapter === undefined ? routeOf(memo, packet.topic) : { deviceId: packet.topic };
    message.route = route;
    if (deps.throttle === undefined) return message.offer();
    // An invalid topic is dead-lettered by decode; it costs no budget.
    if (typeof route === 'string') return message.offer();
    // A will (published after close) has no connection left to pause.
    const paused = client === null || client.closed ? null : client;
    deps.throttle.admit(route.deviceId, paused, message, memo);
  };
}

/**
 * One held publish: the pipeline's message and the state of its ack in one
 * object. Thousands are in flight at saturation and each lives until its
 * commit, long enough to be copied by the young generation's collections;
 * closures and spread objects per message were several objects each.
 */
class HeldPublish implements IngestMessage, ResendTicket {
  route?: TopicRoute | ErrorCode;
  allowedMetrics?: ReadonlySet<string>;
  adapter?: PayloadAdapter;
  /** its slot in the resend memory, which hears the outcome (set by admitInto) */
  resendRing: ClientRing | undefined = undefined;
  resendSlot = 0;
  resendGeneration = 0;
  private called = false;
  private heldSince = 0;

  constructor(
    readonly topic: string,
    readonly payload: Uint8Array,
    readonly qos: 0 | 1 | 2,
    public receivedAt: number,
    private readonly client: Client | null,
    private readonly callback: (err: Error | null) => void,
    /** the publish lane writes this one's PUBACK itself, gathered per connection */
    private readonly viaLane: boolean,
    private readonly deps: Pick<PublishAuthorizerDeps, 'pipeline' | 'isDraining' | 'acked' | 'resends'>,
  ) {}

  /** The rate budgets let it go (gateway/limits/publish-throttle.ts), at once or after a hold. */
  go(): void {
    // After a hold the connection may have closed: the message is still stored,
    // since the client sent it and its DUP resend on a new connection waits in
    // the resend memory for this outcome, to be acked when it commits. Only a
    // stopping gateway refuses it (not acked).
    if (this.deps.isDraining()) this.release(gatewayError('GW_ERR_SHUTTING_DOWN'));
    else this.offer();
  }

  offer(): void {
    // The ack hold is the gateway's own latency; time spent over a budget is not part of it.
    if (this.deps.acked !== undefined) this.heldSince = performance.now();
    // QoS 0 is best effort: it is let through on admission, and its settle does nothing.
    this.deps.pipeline.offer(this, this.qos === 0 ? () => this.release() : noop);
  }

  settle(err?: Error, at?: number): void {
    if (this.qos !== 0) this.release(err, at);
  }

  /** Calls aedes back, once: the PUBACK (or PUBREC) goes out, or the error closes the connection. */
  release(err?: Error, at?: number): void {
    if (this.called) return;
    this.called = true;
    if (this.resendRing !== undefined) this.deps.resends?.settle(this, err);
    if (!err && this.qos > 0) this.deps.acked?.((at ?? performance.now()) - this.heldSince);
    // A batch settles many messages of one connection in one loop: corking
    // until the loop is done turns the PUBACKs aedes writes into one write,
    // not one each. The lane gathers its own.
    const conn = this.viaLane ? undefined : this.client?.conn;
    if (conn !== undefined && !conn.writableCorked && !conn.destroyed) {
      conn.cork();
      process.nextTick(uncork, conn);
    }
    this.callback(err ?? null);
  }
}

function noop(): void {}

function uncork(conn: { uncork(): void }): void {
  conn.uncork();
}
