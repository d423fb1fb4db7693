// Numeric leaves of a JSON document, flattened with `.`: the shape Tasmota
// and zigbee2mqtt both send ({"BME280":{"Temperature":21.5}} → BME280.Temperature).

import { toStoredName } from '../../core/names.js';

export interface Leaf {
  metric: string;
  value: number;
}

export interface FlattenOptions {
  /** booleans as 1/0 (zigbee2mqtt); otherwise they are skipped like strings */
  booleans: boolean;
  /** top-level keys that are not values (Tasmota's Time, zigbee2mqtt's last_seen) */
  skip?: ReadonlySet<string>;
}

/** Strings, nulls and (unless asked) booleans are skipped, not refused: firmware mixes them in. */
export function numericLeaves(doc: Record<string, unknown>, options: FlattenOptions): Leaf[] {
  const out: Leaf[] = [];
  walk(doc, '', options, out, 0);
  return out;
}

// Deep enough for any sensor document; a deeper one is skipped below that level.
const MAX_DEPTH = 8;

function walk(node: unknown, prefix: string, options: FlattenOptions, out: Leaf[], depth: number): void {
  if (typeof node === 'number') {
    if (prefix !== '') out.push({ metric: prefix, value: node });
    return;
  }
  if (typeof node === 'boolean') {
    if (options.booleans && prefix !== '') out.push({ metric: prefix, value: node ? 1 : 0 });
    return;
  }
  if (node === null || typeof node !== 'object' || depth >= MAX_DEPTH) return;
  const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
  for (const [key, value] of entries) {
    if (depth === 0 && options.skip?.has(key)) continue;
    const name = toStoredName(key);
    walk(value, prefix === '' ? name : `${prefix}.${name}`, options, out, depth + 1);
  }
}
