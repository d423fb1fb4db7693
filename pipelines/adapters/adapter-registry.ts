// The adapters one gateway runs, chosen by --adapters, each a fresh instance:
// discovery configs and Sparkplug aliases are this gateway's state, not the module's.

import { ADAPTER_NAMES, type AdapterName, type PayloadAdapter } from './adapter.js';
import { createHomeAssistantAdapter } from './homeassistant.js';
import { createInfluxAdapter, type InfluxPrecision } from './influx.js';
import { createLocalTimeParser } from './local-time.js';
import { createSparkplugAdapter } from './sparkplug.js';
import { createTasmotaAdapter } from './tasmota.js';
import { createZigbee2mqttAdapter } from './zigbee2mqtt.js';

export interface AdapterRegistry {
  readonly names: readonly AdapterName[];
  /** The adapter that owns the topic, if any; topics under devices/ are never asked. */
  match(topic: string): PayloadAdapter | undefined;
}

export interface AdapterRegistryOptions {
  names: readonly AdapterName[];
  /** publishes a command back to a device (Sparkplug's rebirth request) */
  send(topic: string, payload: Uint8Array): void;
  /** IANA zone of Tasmota's local Time; '' uses the receive time */
  timeZone: string;
  influxPrecision: InfluxPrecision;
}

// Home Assistant comes last: it learns state topics from discovery, and a
// topic another adapter owns (zigbee2mqtt/…) stays with that adapter.
const ORDER: readonly AdapterName[] = ['tasmota', 'zigbee2mqtt', 'sparkplug', 'influx', 'homeassistant'];

export function createAdapterRegistry(options: AdapterRegistryOptions): AdapterRegistry {
  const chosen = ORDER.filter((n) => options.names.includes(n));
  const adapters = chosen.map((name) => build(name, options));
  return {
    names: chosen,
    match(topic) {
      for (const adapter of adapters) if (adapter.owns(topic)) return adapter;
      return undefined;
    },
  };
}

function build(name: AdapterName, options: AdapterRegistryOptions): PayloadAdapter {
  switch (name) {
    case 'tasmota':
      return createTasmotaAdapter(
        options.timeZone === '' ? {} : { localTime: createLocalTimeParser(options.timeZone) },
      );
    case 'zigbee2mqtt':
      return createZigbee2mqttAdapter();
    case 'homeassistant':
      return createHomeAssistantAdapter();
    case 'sparkplug':
      return createSparkplugAdapter({ send: options.send });
    case 'influx':
      return createInfluxAdapter(options.influxPrecision);
  }
}

/** `all`, `none` or a comma list of names → the names; a string naming the bad entry otherwise. */
export function parseAdapterList(value: string): AdapterName[] | { unknown: string } {
  const v = value.trim();
  if (v === 'all') return [...ADAPTER_NAMES];
  if (v === 'none' || v === '') return [];
  const out: AdapterName[] = [];
  for (const raw of v.split(',')) {
    const name = raw.trim();
    if (!(ADAPTER_NAMES as readonly string[]).includes(name)) return { unknown: name };
    out.push(name as AdapterName);
  }
  return out;
}
