// Who may do what, as pure functions of an identity and a topic. The aedes
// hooks in gateway/auth/ apply them; keeping them here keeps them testable
// without a broker.

import { type Bridge, bridgeCanPublish, bridgeCanSubscribe } from './bridge.js';

/** Who a connection is, fixed at CONNECT. */
export type Identity =
  | {
      kind: 'device';
      deviceId: string;
      /** the registry row's version when it authenticated; a newer one (rotate, revoke) ends the session */
      version: number;
      /** null: any metric */
      allowedMetrics: ReadonlySet<string> | null;
      via: 'token' | 'certificate';
      /** a bridge publishes for the devices behind it, on its adapter's topics only (devices/bridge.ts) */
      bridge?: Bridge;
    }
  | { kind: 'anonymous' };

export const ANONYMOUS: Identity = { kind: 'anonymous' };

export type IsRegistered = (deviceId: string) => boolean;

/**
 * A device publishes under devices/{its id}/ only. An anonymous client (only
 * ever admitted by the loopback policy or --allow-anonymous) may publish
 * anywhere except under a registered device's prefix. $SYS/ is the broker's
 * own namespace and refused to everyone (aedes #597).
 */
export function canPublish(identity: Identity, topic: string, isRegistered: IsRegistered): boolean {
  if (topic.startsWith('$')) return false;
  // Runs for every message: compared in place, with no string built or split.
  if (identity.kind === 'device')
    return identity.bridge === undefined
      ? isUnder(topic, identity.deviceId)
      : bridgeCanPublish(identity.bridge, identity.deviceId, topic);
  if (!topic.startsWith(DEVICES)) return true;
  const idEnd = topic.indexOf('/', DEVICES.length);
  return idEnd < 0 || !isRegistered(topic.slice(DEVICES.length, idEnd));
}

const DEVICES = 'devices/';

/** topic starts with devices/{deviceId}/ */
function isUnder(topic: string, deviceId: string): boolean {
  const idEnd = DEVICES.length + deviceId.length;
  return (
    topic.startsWith(DEVICES) &&
    topic.startsWith(deviceId, DEVICES.length) &&
    topic.charCodeAt(idEnd) === 0x2f
  );
}

/**
 * A device may subscribe to its own alerts/{id} and devices/{id} trees: the
 * first two levels must be literal, so no wildcard reaches another device
 * [MQTT-4.7.1]. Anonymous clients subscribe as on any dev broker.
 */
export function canSubscribe(identity: Identity, filter: string): boolean {
  if (identity.kind === 'anonymous') return true;
  if (identity.bridge !== undefined) return bridgeCanSubscribe(identity.bridge, identity.deviceId, filter);
  const [root, id] = filter.split('/', 2);
  return (root === 'devices' || root === 'alerts') && id === identity.deviceId;
}

/**
 * aedes closes an existing session when a CONNECT reuses its ClientId
 * [MQTT-3.1.4-2], so a ClientId is a claim on a session. A device may use its
 * id or `{id}-suffix`, and never an id another registered device owns (device
 * "a" must not take "a-b"'s session, nor "a-b-1"). An anonymous client may not
 * use any registered device's id or prefix.
 */
export function clientIdAllowed(identity: Identity, clientId: string, isRegistered: IsRegistered): boolean {
  const own = identity.kind === 'device' ? identity.deviceId : undefined;
  if (own !== undefined && clientId !== own && !clientId.startsWith(`${own}-`)) return false;
  // Every registered id that clientId equals or starts with (as `id-`) owns it.
  let from = own === undefined ? 0 : own.length + 1;
  for (;;) {
    const dash = clientId.indexOf('-', from);
    const candidate = dash === -1 ? clientId : clientId.slice(0, dash);
    if (candidate !== own && isRegistered(candidate)) return false;
    if (dash === -1) return true;
    from = dash + 1;
  }
}
