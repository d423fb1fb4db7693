// The MQTT mutation fuzzer in CI: a fixed time (FUZZ_SECONDS, default 45),
// a spawned gateway, the canary throughout. Longer runs: npm run fuzz -- --minutes 30.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz } from '../../simulators/fuzz/fuzz-run.js';
import { type HostileRig, startHostileRig } from '../hostile/support/hostile-rig.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 45);
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_126);

describe('MQTT mutation fuzzer', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig(['--connect-timeout-ms', '2000']);
  });
  afterAll(() => rig.close());

  it(
    `survives ${SECONDS} s of mutated packets; the canary is acked within 2 s throughout and every acked reading is stored`,
    async () => {
      const result = await runFuzz({
        port: rig.port,
        durationMs: SECONDS * 1000,
        seed: SEED,
        aborted: () => !rig.alive(),
      });
      const { ackedTs, ...canary } = result.canary;
      console.log(
        `fuzz: seed ${SEED}, ${result.connections} connections, ${result.packets} packets (${result.bytes} bytes), canary ${canary.acked} acks, p50 ${canary.p50Ms.toFixed(2)} ms, p99 ${canary.p99Ms.toFixed(2)} ms, max ${canary.maxMs.toFixed(2)} ms`,
      );
      expect(result.failure).toBeUndefined();
      // every fuzzing connection was half-closed by the fuzzer: the gateway must have ended each one
      expect(result.stuck).toEqual([]);
      expect(rig.alive()).toBe(true);
      expect(result.packets).toBeGreaterThan(1000);
      expect(canary.acked).toBeGreaterThan(SECONDS * 10);
      const reader = rig.reader();
      const stored = new Set(
        (await reader.readings({ deviceId: 'fuzz-canary', metric: 'alive', limit: 1_000_000 })).map(
          (r) => r.ts,
        ),
      );
      expect(ackedTs.filter((ts) => !stored.has(ts))).toEqual([]);
    },
    (SECONDS + 60) * 1000,
  );
});
