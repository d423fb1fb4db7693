import type { Aedes } from 'aedes';
import { GatewayError } from '../core/errors.js';
import {
  type AdapterRegistry,
  createAdapterRegistry,
  parseAdapterList,
} from '../pipelines/adapters/adapter-registry.js';
import { createLocalTimeParser } from '../pipelines/adapters/local-time.js';
import type { GatewayConfig } from './config.js';

export interface GatewayAdapters {
  registry: AdapterRegistry;
  /** The broker that carries commands back to devices (Sparkplug rebirth): it starts after the registry. */
  attach(broker: Pick<Aedes, 'publish'>): void;
}

/**
 * The adapters --adapters names, with their options checked here, at start:
 * a bad name or zone is a configuration error, not a surprise at the first message.
 */
export function createGatewayAdapters(
  config: Pick<GatewayConfig, 'adapters' | 'adapterTimeZone' | 'influxPrecision'>,
): GatewayAdapters {
  const names = parseAdapterList(config.adapters);
  if (!Array.isArray(names))
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      `adapters: unknown adapter "${names.unknown}" (all, none, or a comma list of tasmota, zigbee2mqtt, homeassistant, sparkplug, influx)`,
    ]);
  if (config.adapterTimeZone !== '') {
    try {
      createLocalTimeParser(config.adapterTimeZone);
    } catch {
      throw new GatewayError('GW_ERR_CONFIG_INVALID', [
        `adapterTimeZone: "${config.adapterTimeZone}" is not an IANA time zone`,
      ]);
    }
  }
  let broker: Pick<Aedes, 'publish'> | undefined;
  const registry = createAdapterRegistry({
    names,
    timeZone: config.adapterTimeZone,
    influxPrecision: config.influxPrecision,
    // QoS 0, as Sparkplug host applications send NCMD; before the broker runs no message has arrived.
    send: (topic, payload) =>
      broker?.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, dup: false, retain: false },
        () => {},
      ),
  });
  return {
    registry,
    attach: (b) => {
      broker = b;
    },
  };
}
