// Scenario "adapter-decode": what each payload format costs the main thread
// from bytes to validated readings (pipelines/adapters/ against the devices/
// JSON contract's parseTelemetry), on the simulator's messages of 3 metrics.
// One process, no broker, formats interleaved; the part of the ingest path an
// adapter changes, measured apart from the machine's noise on the rest.

import { parseArgs } from 'node:util';
import { defaults } from '../gateway/config.js';
import { parseAdapted } from '../pipelines/adapters/adapt-message.js';
import { ADAPTER_NAMES } from '../pipelines/adapters/adapter.js';
import { createAdapterRegistry } from '../pipelines/adapters/adapter-registry.js';
import { parseTelemetry } from '../pipelines/parse-telemetry.js';
import type { IngestMessage } from '../pipelines/telemetry.js';
import { createFormatter, SIM_FORMATS, type SimFormat } from '../simulators/payload-formats.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

const METRICS = ['m0', 'm1', 'm2'];

function messagesOf(format: SimFormat, devices: number, perDevice: number, t0: number) {
  const hello: IngestMessage[] = [];
  const data: IngestMessage[] = [];
  const wrap = (topic: string, payload: Buffer | string, receivedAt: number): IngestMessage => ({
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    receivedAt,
    settle: () => {},
  });
  for (let d = 0; d < devices; d++) {
    const f = createFormatter(format, `dev-${d}`, METRICS);
    for (const h of f.hello()) hello.push(wrap(h.topic, h.payload, t0));
    for (let i = 0; i < perDevice; i++) {
      const ts = t0 + i;
      const m = f.encode([20 + i / 10, 40, 1000], ts);
      data.push(wrap(m.topic, m.payload, ts));
    }
  }
  return { hello, data };
}

function run(format: SimFormat, devices: number, perDevice: number) {
  const limits = defaults();
  const registry = createAdapterRegistry({
    names: ADAPTER_NAMES,
    send: () => {},
    timeZone: '',
    influxPrecision: 'ns',
  });
  const { hello, data } = messagesOf(format, devices, perDevice, Date.now() - 60_000);
  const parse = (m: IngestMessage) => {
    const adapter = m.topic.startsWith('devices/') ? undefined : registry.match(m.topic);
    return adapter === undefined ? parseTelemetry(m, limits) : parseAdapted(m, adapter, limits);
  };
  for (const m of hello) parse(m);
  let readings = 0;
  let refused = 0;
  const t = performance.now();
  for (const m of data) {
    const p = parse(m);
    readings += p.readings.length;
    refused += p.rejectedCount;
  }
  const ms = performance.now() - t;
  return { usPerMessage: (ms * 1000) / data.length, readingsPerMessage: readings / data.length, refused };
}

/** one line for `npm run bench -- --help` */
export const about =
  'each payload format from bytes to validated readings on the main thread (µs/message), against the JSON contract';

export const options = {
  devices: { type: 'string', default: '200' },
  messages: { type: 'string', default: '200' },
  repeats: { type: 'string', default: '5' },
} satisfies ScenarioOptions;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const devices = Number(values.devices);
  const perDevice = Number(values.messages);
  const results = new Map<SimFormat, ReturnType<typeof run>[]>(SIM_FORMATS.map((f) => [f, []]));
  // One warm-up round for the JIT, then interleaved rounds.
  for (const f of SIM_FORMATS) run(f, 20, 50);
  for (let r = 0; r < Number(values.repeats); r++)
    for (const f of SIM_FORMATS) results.get(f)!.push(run(f, devices, perDevice));
  const json = median(results.get('json')!.map((r) => r.usPerMessage));
  const lines = [
    `${devices} devices × ${perDevice} messages of 3 metrics per format, medians of ${values.repeats} interleaved rounds`,
    '',
    '| format | µs/message | readings/message | × json | refused |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const [f, rs] of results) {
    const us = median(rs.map((r) => r.usPerMessage));
    lines.push(
      `| ${f} | ${us.toFixed(2)} | ${rs[0]!.readingsPerMessage} | ${(us / json).toFixed(2)} | ${rs[0]!.refused} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
