// zigbee2mqtt: zigbee2mqtt/{friendly_name}, a JSON object of the device's
// state (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html).
// bridge/… is the bridge's own traffic, and …/set, …/get and …/availability
// are commands and presence, not readings: those stay plain MQTT.

import { NAME_PATTERN, toStoredName } from '../../core/names.js';
import { type AdapterOutcome, isRecord, type PayloadAdapter, parseJson, refused } from './adapter.js';
import { numericLeaves } from './flatten.js';

const ROOT = 'zigbee2mqtt/';
const NOT_STATE = new Set(['set', 'get', 'availability']);
// last_seen is when, not what (a string or epoch ms, by the bridge's setting).
const SKIP = new Set(['last_seen']);

export function zigbee2mqttOwns(topic: string): boolean {
  if (!topic.startsWith(ROOT) || topic.startsWith(`${ROOT}bridge/`) || topic === `${ROOT}bridge`)
    return false;
  const parts = topic.slice(ROOT.length).split('/');
  // …/set/{attribute} and …/get/{attribute} exist too.
  return parts[0] !== '' && !parts.some((p, i) => i > 0 && NOT_STATE.has(p));
}

export function createZigbee2mqttAdapter(): PayloadAdapter {
  return {
    name: 'zigbee2mqtt',
    owns: zigbee2mqttOwns,
    decode(topic, payload, receivedAt): AdapterOutcome {
      const deviceId = toStoredName(topic.slice(ROOT.length));
      if (!NAME_PATTERN.test(deviceId)) return refused('GW_ERR_ADAPTER_NAME_INVALID');
      const doc = parseJson(payload);
      if (!isRecord(doc)) return refused('GW_ERR_ZIGBEE2MQTT_PAYLOAD', deviceId);
      const leaves = numericLeaves(doc, { booleans: true, skip: SKIP });
      return {
        kind: 'readings',
        readings: leaves.map(({ metric, value }) => ({ deviceId, metric, ts: receivedAt, value })),
      };
    },
  };
}
