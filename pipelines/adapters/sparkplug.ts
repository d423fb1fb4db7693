// Sparkplug B (spBv1.0/{group}/{type}/{edge}[/{device}]): BIRTHs announce each
// metric's name, alias and type; DATA messages may then carry only aliases.
// Every message of an edge node carries seq, one more than the last (mod 256).
// An alias no BIRTH announced, or a seq that skips, means this gateway missed
// something: as the specification asks of a host application, it sends the
// node NCMD "Node Control/Rebirth", and dead-letters what it could not read.
// https://sparkplug.eclipse.org/specification/version/3.0/documents/sparkplug-specification-3.0.0.pdf

import { NAME_PATTERN, toStoredName } from '../../core/names.js';
import type { AdapterOutcome, AdapterReading, AdapterRejection, PayloadAdapter } from './adapter.js';
import { refused } from './adapter.js';
import {
  decodePayload,
  rebirthPayload,
  type SparkplugMetric,
  SparkplugType,
  toNumber,
  toSigned64,
} from './sparkplug-proto.js';

export interface SparkplugOptions {
  /** publishes a command to the edge node (the broker, once it runs) */
  send(topic: string, payload: Uint8Array): void;
  now?: () => number;
}

interface EdgeNode {
  /** device ('' for the node itself) → alias → metric */
  aliases: Map<string, Map<number, { name: string; datatype: number | undefined }>>;
  seq: number | undefined;
  /** a rebirth was asked for and no NBIRTH answered yet: ask once, not per message */
  rebirthAsked: boolean;
}

const OWNED = new Set(['NBIRTH', 'DBIRTH', 'NDATA', 'DDATA', 'NDEATH', 'DDEATH']);
// Control metrics of the BIRTH, not measurements.
const CONTROL = /^(bdSeq$|Node Control\/|Device Control\/)/;

interface Route {
  group: string;
  type: string;
  edge: string;
  device?: string;
  deviceId: string;
}

function routeOf(topic: string): Route | undefined {
  const parts = topic.split('/');
  if (parts.length < 4 || parts.length > 5 || parts.some((p) => p === '')) return undefined;
  const [, group, type, edge, device] = parts as [string, string, string, string, string | undefined];
  const ids = [group, edge, ...(device === undefined ? [] : [device])].map(toStoredName);
  const route: Route = { group, type, edge, deviceId: ids.join('.') };
  if (device !== undefined) route.device = device;
  return route;
}

export function createSparkplugAdapter(options: SparkplugOptions): PayloadAdapter {
  const nodes = new Map<string, EdgeNode>();
  const now = options.now ?? Date.now;

  const askRebirth = (route: Route, node: EdgeNode) => {
    if (node.rebirthAsked) return;
    node.rebirthAsked = true;
    options.send(`spBv1.0/${route.group}/NCMD/${route.edge}`, rebirthPayload(now()));
  };

  return {
    name: 'sparkplug',
    owns: (topic) => topic.startsWith('spBv1.0/') && OWNED.has(topic.split('/', 3)[2] ?? ''),
    decode(topic, payload, receivedAt): AdapterOutcome {
      const route = routeOf(topic);
      if (route === undefined || (route.device === undefined) !== route.type.startsWith('N'))
        return refused('GW_ERR_SPARKPLUG_TOPIC');
      if (!NAME_PATTERN.test(route.deviceId)) return refused('GW_ERR_ADAPTER_NAME_INVALID');
      const message = decodePayload(payload);
      if (message === undefined) return refused('GW_ERR_SPARKPLUG_DECODE', route.deviceId);
      const key = `${route.group}/${route.edge}`;
      if (route.type === 'NDEATH') {
        nodes.delete(key);
        return { kind: 'ignored' };
      }
      let node = nodes.get(key);
      if (route.type === 'NBIRTH' || node === undefined) {
        node = { aliases: new Map(), seq: undefined, rebirthAsked: false };
        nodes.set(key, node);
      }
      const rejections: AdapterRejection[] = [];
      const seq = toNumber(message.seq);
      if (route.type !== 'NBIRTH') {
        if (node.seq === undefined) askRebirth(route, node);
        else if (seq !== (node.seq + 1) % 256) {
          rejections.push({ index: 0, code: 'GW_ERR_SPARKPLUG_SEQ_GAP' });
          askRebirth(route, node);
        }
      } else node.seq = undefined;
      if (seq !== undefined) node.seq = seq;
      if (route.type === 'DDEATH')
        return rejections.length === 0
          ? { kind: 'ignored' }
          : refused('GW_ERR_SPARKPLUG_SEQ_GAP', route.deviceId);
      const birth = route.type.endsWith('BIRTH');
      const aliases = aliasesOf(node, route.device ?? '', birth);
      const fallbackTs = toNumber(message.timestamp) ?? receivedAt;
      const readings: AdapterReading[] = [];
      message.metrics.forEach((metric, index) => {
        const named = resolve(metric, aliases, birth);
        if (named === undefined) {
          rejections.push({ index, code: 'GW_ERR_SPARKPLUG_ALIAS_UNKNOWN' });
          askRebirth(route, node);
          return;
        }
        if (metric.is_null === true || CONTROL.test(named.name)) return;
        const value = numericValue(metric, named.datatype);
        if (value === undefined) return;
        const ts = toNumber(metric.timestamp) ?? fallbackTs;
        readings.push({ deviceId: route.deviceId, metric: toStoredName(named.name), ts, value });
      });
      return { kind: 'readings', readings, rejections };
    },
  };
}

function aliasesOf(node: EdgeNode, device: string, birth: boolean) {
  let aliases = node.aliases.get(device);
  if (aliases === undefined || birth) {
    aliases = new Map();
    node.aliases.set(device, aliases);
  }
  return aliases;
}

function resolve(
  metric: SparkplugMetric,
  aliases: Map<number, { name: string; datatype: number | undefined }>,
  birth: boolean,
): { name: string; datatype: number | undefined } | undefined {
  const alias = toNumber(metric.alias);
  if (metric.name !== undefined && metric.name !== '') {
    const named = { name: metric.name, datatype: metric.datatype };
    if (birth && alias !== undefined) aliases.set(alias, named);
    return named;
  }
  if (alias === undefined) return undefined;
  const known = aliases.get(alias);
  if (known === undefined) return undefined;
  return metric.datatype === undefined ? known : { name: known.name, datatype: metric.datatype };
}

/** Numbers and booleans; strings, bytes, datasets and templates are not readings. */
function numericValue(metric: SparkplugMetric, datatype: number | undefined): number | undefined {
  if (metric.boolean_value !== undefined) return metric.boolean_value ? 1 : 0;
  if (metric.float_value !== undefined) return metric.float_value;
  if (metric.double_value !== undefined) return metric.double_value;
  if (metric.int_value !== undefined) {
    // Int8/16/32 travel as uint32 two's complement (specification 6.4.16).
    const v = metric.int_value;
    if (datatype === SparkplugType.Int8) return (v << 24) >> 24;
    if (datatype === SparkplugType.Int16) return (v << 16) >> 16;
    if (datatype === SparkplugType.Int32) return v | 0;
    return v;
  }
  if (metric.long_value !== undefined) {
    return datatype === SparkplugType.Int64 ? toSigned64(metric.long_value) : toNumber(metric.long_value);
  }
  return undefined;
}
