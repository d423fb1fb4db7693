// Home Assistant MQTT discovery configs
// (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery): the
// retained JSON on homeassistant/{component}/[{node_id}/]{object_id}/config
// that names an entity's state_topic, its unit and device class.

import type { ErrorCode } from '../../core/errors.js';
import { NAME_PATTERN, toStoredName } from '../../core/names.js';
import { isRecord } from './adapter.js';

/** What a state topic's messages are stored as. */
export interface DiscoveredEntity {
  deviceId: string;
  metric: string;
  /** value_json path of `{{ value_json.a.b }}`; absent: the payload is the value */
  path?: string[];
  unit?: string;
  deviceClass?: string;
}

export interface DiscoveryConfig {
  stateTopic: string;
  entity: DiscoveredEntity;
}

// {{ value_json.a.b }}, optionally piped through float or int; {{ value }} is the payload itself.
const JSON_TEMPLATE =
  /^\{\{\s*value_json((?:\.[A-Za-z0-9_-]+)+)\s*(?:\|\s*(?:float|int)(?:\(\d*\))?\s*)?\}\}$/;
const VALUE_TEMPLATE = /^\{\{\s*value\s*(?:\|\s*(?:float|int)(?:\(\d*\))?\s*)?\}\}$/;

/** homeassistant/{component}/[{node_id}/]{object_id}/config → its parts, or undefined. */
export function discoveryTopicParts(topic: string): { nodeId?: string; objectId: string } | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'homeassistant' || parts[parts.length - 1] !== 'config') return undefined;
  if (parts.length === 4) return { objectId: parts[2]! };
  if (parts.length === 5) return { nodeId: parts[2]!, objectId: parts[3]! };
  return undefined;
}

/** A config's abbreviated keys (stat_t, unit_of_meas, …) are read as well as the long ones. */
export function readDiscoveryConfig(
  parts: { nodeId?: string; objectId: string },
  doc: unknown,
): DiscoveryConfig | ErrorCode {
  if (!isRecord(doc)) return 'GW_ERR_HOMEASSISTANT_CONFIG';
  const base = typeof doc['~'] === 'string' ? doc['~'] : undefined;
  let stateTopic = pick(doc, 'state_topic', 'stat_t');
  if (typeof stateTopic !== 'string' || stateTopic === '') return 'GW_ERR_HOMEASSISTANT_CONFIG';
  if (base !== undefined) stateTopic = stateTopic.replace(/^~|~$/, base);
  const rawDevice = parts.nodeId ?? deviceOf(pick(doc, 'device', 'dev'));
  if (rawDevice === undefined) return 'GW_ERR_HOMEASSISTANT_CONFIG';
  const deviceId = toStoredName(rawDevice);
  const metric = toStoredName(parts.objectId);
  if (!NAME_PATTERN.test(deviceId) || !NAME_PATTERN.test(metric)) return 'GW_ERR_ADAPTER_NAME_INVALID';
  const entity: DiscoveredEntity = { deviceId, metric };
  const template = pick(doc, 'value_template', 'val_tpl');
  if (template !== undefined) {
    if (typeof template !== 'string') return 'GW_ERR_HOMEASSISTANT_TEMPLATE';
    const m = JSON_TEMPLATE.exec(template.trim());
    if (m !== null) entity.path = m[1]!.slice(1).split('.');
    else if (!VALUE_TEMPLATE.test(template.trim())) return 'GW_ERR_HOMEASSISTANT_TEMPLATE';
  }
  const unit = pick(doc, 'unit_of_measurement', 'unit_of_meas');
  if (typeof unit === 'string' && unit !== '') entity.unit = unit;
  const deviceClass = pick(doc, 'device_class', 'dev_cla');
  if (typeof deviceClass === 'string' && deviceClass !== '') entity.deviceClass = deviceClass;
  return { stateTopic: stateTopic as string, entity };
}

function pick(doc: Record<string, unknown>, long: string, short: string): unknown {
  return doc[long] ?? doc[short];
}

/** device.identifiers[0] (a string or a list), else device.name. */
function deviceOf(device: unknown): string | undefined {
  if (!isRecord(device)) return undefined;
  const ids = device.identifiers ?? device.ids;
  const first = Array.isArray(ids) ? ids[0] : ids;
  if (typeof first === 'string' && first !== '') return first;
  return typeof device.name === 'string' && device.name !== '' ? device.name : undefined;
}
