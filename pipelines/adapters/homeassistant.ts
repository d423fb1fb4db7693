// ESPHome and Home Assistant MQTT: {node}/sensor/{object}/state holds a bare
// number (device node, metric object), and retained discovery configs map any
// state_topic to (node_id, object_id) with a unit and a device class. The
// discovered topics live in this adapter instance: one gateway's state.

import { NAME_PATTERN, toStoredName } from '../../core/names.js';
import {
  type AdapterOutcome,
  type AdapterReading,
  decodeText,
  type PayloadAdapter,
  parseJson,
  refused,
} from './adapter.js';
import { type DiscoveredEntity, discoveryTopicParts, readDiscoveryConfig } from './homeassistant-config.js';

// The discovery prefix is not a node: its …/state topics are known only from a config.
const ESPHOME_STATE = /^(?!homeassistant\/)([^/]+)\/sensor\/([^/]+)\/state$/;
const NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

export function createHomeAssistantAdapter(): PayloadAdapter {
  // state topic → the entities it feeds; config topic → the state topic it set
  const byState = new Map<string, Map<string, DiscoveredEntity>>();
  const byConfig = new Map<string, string>();

  const forget = (configTopic: string) => {
    const stateTopic = byConfig.get(configTopic);
    if (stateTopic === undefined) return;
    byConfig.delete(configTopic);
    const entities = byState.get(stateTopic);
    entities?.delete(configTopic);
    if (entities?.size === 0) byState.delete(stateTopic);
  };

  const configure = (topic: string, payload: Uint8Array): AdapterOutcome => {
    const parts = discoveryTopicParts(topic)!;
    forget(topic);
    // An empty retained config removes the entity, as in Home Assistant.
    if (payload.byteLength === 0) return { kind: 'ignored' };
    const config = readDiscoveryConfig(parts, parseJson(payload));
    if (typeof config === 'string') return refused(config);
    const entities = byState.get(config.stateTopic) ?? new Map<string, DiscoveredEntity>();
    byState.set(config.stateTopic, entities);
    entities.set(topic, config.entity);
    byConfig.set(topic, config.stateTopic);
    return { kind: 'ignored' };
  };

  return {
    name: 'homeassistant',
    owns: (topic) =>
      discoveryTopicParts(topic) !== undefined || byState.has(topic) || ESPHOME_STATE.test(topic),
    decode(topic, payload, receivedAt) {
      if (discoveryTopicParts(topic) !== undefined) return configure(topic, payload);
      const entities = byState.get(topic);
      if (entities !== undefined) return stateOf([...entities.values()], payload, receivedAt);
      const m = ESPHOME_STATE.exec(topic)!;
      const deviceId = toStoredName(m[1]!);
      const metric = toStoredName(m[2]!);
      if (!NAME_PATTERN.test(deviceId) || !NAME_PATTERN.test(metric))
        return refused('GW_ERR_ADAPTER_NAME_INVALID');
      return stateOf([{ deviceId, metric }], payload, receivedAt);
    },
  };
}

function stateOf(entities: DiscoveredEntity[], payload: Uint8Array, ts: number): AdapterOutcome {
  const readings: AdapterReading[] = [];
  const needsJson = entities.some((e) => e.path !== undefined);
  const doc = needsJson ? parseJson(payload) : undefined;
  const text = decodeText(payload);
  for (const entity of entities) {
    const raw = entity.path === undefined ? text : walk(doc, entity.path);
    const value = toNumber(raw);
    if (value === undefined) {
      const code = entity.path === undefined ? 'GW_ERR_HOMEASSISTANT_STATE' : 'GW_ERR_HOMEASSISTANT_TEMPLATE';
      if (entities.length === 1) return refused(code, entity.deviceId);
      continue;
    }
    const r: AdapterReading = { deviceId: entity.deviceId, metric: entity.metric, ts, value };
    if (entity.unit !== undefined) r.unit = entity.unit;
    if (entity.deviceClass !== undefined) r.deviceClass = entity.deviceClass;
    readings.push(r);
  }
  if (readings.length === 0) return refused('GW_ERR_HOMEASSISTANT_STATE', entities[0]?.deviceId);
  return { kind: 'readings', readings };
}

function walk(doc: unknown, path: readonly string[]): unknown {
  let node = doc;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A number, a numeric string, ON/OFF or true/false (binary sensors); anything else is not a reading. */
function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw !== 'string') return undefined;
  if (NUMBER.test(raw)) return Number(raw);
  const word = raw.trim().toUpperCase();
  if (word === 'ON' || word === 'TRUE') return 1;
  if (word === 'OFF' || word === 'FALSE') return 0;
  return undefined;
}
