// Every decoder is total: arbitrary bytes on any owned topic give readings,
// "ignored" or a coded refusal, never a throw (a throw inside the pipeline's
// map would end the ingest stream). Mutated documented payloads and random bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isErrorCode } from '../../../core/errors.js';
import { NAME_PATTERN } from '../../../core/names.js';
import { ADAPTER_NAMES } from '../../../pipelines/adapters/adapter.js';
import { createAdapterRegistry } from '../../../pipelines/adapters/adapter-registry.js';
import { encodeSparkplug } from '../../../simulators/sparkplug-encode.js';
import * as f from './fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);
const seeds: Array<[string, Uint8Array]> = [
  ['tele/t1/SENSOR', enc(f.TASMOTA_BME280)],
  ['zigbee2mqtt/a/b', enc(f.Z2M_OCCUPANCY)],
  [f.HA_DISCOVERY_TOPIC, enc(f.HA_DISCOVERY)],
  [f.HA_STATE_TOPIC, enc(f.HA_STATE)],
  [f.ESPHOME_DISCOVERY_TOPIC, enc(f.ESPHOME_DISCOVERY)],
  [f.ESPHOME_STATE_TOPIC, enc('21.5')],
  ['influx/x', enc(f.INFLUX_LINES)],
  ['spBv1.0/g/NBIRTH/e', encodeSparkplug({ seq: 0, metrics: [{ name: 'a/b', alias: 1, value: 1.5 }] })],
  [
    'spBv1.0/g/DDATA/e/d',
    encodeSparkplug({
      seq: 1,
      metrics: [
        { alias: 1, value: 2 },
        { alias: 9, value: true },
      ],
    }),
  ],
];

const mutated = fc
  .tuple(
    fc.integer({ min: 0, max: seeds.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.nat(),
  )
  .map(([i, flips, cut]) => {
    const [topic, bytes] = seeds[i]!;
    const copy = Uint8Array.from(bytes);
    for (const [at, byte] of flips) if (copy.length > 0) copy[at % copy.length] = byte;
    return [topic, copy.subarray(0, copy.length === 0 ? 0 : cut % (copy.length + 1))] as const;
  });
const random = fc.tuple(fc.constantFrom(...seeds.map(([t]) => t)), fc.uint8Array({ maxLength: 300 }));

describe('the adapter decoders never throw', () => {
  it('on mutated documented payloads and random bytes, with state carried across messages', () => {
    const registry = createAdapterRegistry({
      names: ADAPTER_NAMES,
      send: () => {},
      timeZone: 'Europe/Berlin',
      influxPrecision: 'ns',
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(mutated, random), { minLength: 1, maxLength: 20 }), (messages) => {
        for (const [topic, payload] of messages) {
          const adapter = registry.match(topic);
          if (adapter === undefined) continue;
          const out = adapter.decode(topic, payload, Date.now());
          if (out.kind === 'refused') expect(isErrorCode(out.code)).toBe(true);
          if (out.kind === 'readings')
            for (const r of out.readings) {
              expect(NAME_PATTERN.test(r.deviceId) || r.deviceId.length > 64).toBe(true);
              expect(typeof r.value).toBe('number');
            }
        }
      }),
      { numRuns: 2000, seed: 20_261_128 },
    );
  });
});
