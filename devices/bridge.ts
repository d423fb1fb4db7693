// A bridge credential publishes for the devices behind it: a zigbee2mqtt
// bridge, or a Sparkplug edge node. Its ACL is its adapter's topic root and
// nothing else: zigbee2mqtt/… for the bridge; for an edge node, its own
// topics in its own group (spBv1.0/{group}/{N…}/{id} and …/{D…}/{id}/{device}),
// and the commands a host sends it. It may not publish under devices/.

import { NAME_PATTERN } from '../core/names.js';

export type Bridge = { adapter: 'zigbee2mqtt' } | { adapter: 'sparkplug'; group: string };

export const BRIDGE_ADAPTERS = ['zigbee2mqtt', 'sparkplug'] as const;

/** `zigbee2mqtt` or `sparkplug:{group}`, as stored in device_credentials.bridge. */
export function formatBridge(b: Bridge): string {
  return b.adapter === 'sparkplug' ? `sparkplug:${b.group}` : b.adapter;
}

/** The stored or typed form back; a string that says what is wrong otherwise. */
export function parseBridge(text: string): Bridge | { problem: string } {
  const [adapter, group] = text.split(':', 2);
  if (adapter === 'zigbee2mqtt' && group === undefined) return { adapter };
  if (adapter === 'sparkplug') {
    if (group === undefined || !NAME_PATTERN.test(group))
      return { problem: 'a Sparkplug edge node needs its group: --group NAME ([A-Za-z0-9_.-])' };
    return { adapter, group };
  }
  return { problem: `--bridge must be one of ${BRIDGE_ADAPTERS.join(', ')}, got "${text}"` };
}

const NODE_TYPES = new Set(['NBIRTH', 'NDEATH', 'NDATA']);
const DEVICE_TYPES = new Set(['DBIRTH', 'DDEATH', 'DDATA']);

export function bridgeCanPublish(bridge: Bridge, id: string, topic: string): boolean {
  if (bridge.adapter === 'zigbee2mqtt') return topic.startsWith('zigbee2mqtt/');
  const p = topic.split('/');
  if (bridge.group === '' || p[0] !== 'spBv1.0' || p[1] !== bridge.group || p[3] !== id) return false;
  if (p.length === 4) return NODE_TYPES.has(p[2]!);
  return p.length === 5 && DEVICE_TYPES.has(p[2]!) && p[4] !== '';
}

/** Its commands only, with literal levels up to its own id (no wildcard reaches another node). */
export function bridgeCanSubscribe(bridge: Bridge, id: string, filter: string): boolean {
  if (bridge.adapter === 'zigbee2mqtt') return filter.startsWith('zigbee2mqtt/');
  const root = `spBv1.0/${bridge.group}`;
  return (
    filter === `${root}/NCMD/${id}` ||
    filter.startsWith(`${root}/DCMD/${id}/`) ||
    // The primary host's STATE, which an edge node watches (Sparkplug 3.0, section 7.6).
    filter.startsWith('spBv1.0/STATE/')
  );
}
