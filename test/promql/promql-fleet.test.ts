// The fleet tier (storage/fleet-rollup.ts, promql-fleet.ts) against the
// per-series evaluation it replaces, on SQLite: every aggregation of every
// range function it answers, on a fleet with readings anywhere in a minute
// and on its edges, late readings into minutes already rewritten, and the
// open minute; before, between and after the re-aggregations. (The PromQL
// property, promql-contract.ts, checks both paths against the raw readings.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePromQL } from '../../storage/query/promql/promql-parser.js';
import { AGGREGATIONS, type PromEvaluation } from '../../storage/query/promql/promql-plan.js';
import { createSqlitePromQL } from '../../storage/sqlite/query/sqlite-promql.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { makeBatch, type ReadingSpec } from '../storage/make-batch.js';

const MINUTE = 60_000;
const FNS = ['avg', 'min', 'max', 'sum', 'count'];

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/** A deterministic fleet: `devices` × `minutes`, a few readings a minute, a third of them on the minute edge. */
function fleet(devices: number, from: number, minutes: number, seed: number): ReadingSpec[] {
  let x = seed;
  const rand = () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
  const out: ReadingSpec[] = [];
  for (let d = 0; d < devices; d++) {
    for (let m = 0; m < minutes; m++) {
      if (rand() < 0.2) continue;
      const n = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < n; k++) {
        const offset = rand() < 0.33 ? 0 : Math.floor(rand() * MINUTE);
        out.push({
          device: `dev-${d}`,
          metric: d % 5 === 4 ? 'humidity' : 'temp',
          ts: from + m * MINUTE + offset,
          value: Math.round((rand() * 40 - 10) * 8) / 8,
        });
      }
    }
  }
  return out;
}

/** A fresh database and its writer; `reader()` opens a read-only connection, closed by the cleanup with the rest. */
async function openStore() {
  const dir = await mkdtemp(join(tmpdir(), 'gw-promql-fleet-'));
  const path = join(dir, 'gw.db');
  const writer = await openSqliteWriter({ path });
  let db: Database.Database | undefined;
  cleanup = async () => {
    db?.close();
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  };
  const reader = () => {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return db;
  };
  return { writer, reader };
}

describe('the fleet tier on SQLite', () => {
  it('answers as the per-series evaluation does, late readings and the open minute included', async () => {
    const { writer, reader } = await openStore();
    const now = Date.now();
    const end = Math.floor(now / MINUTE) * MINUTE + MINUTE;
    const from = end - 45 * MINUTE;
    // The newest minutes reach into the open one.
    await writer.write(makeBatch(fleet(25, from, 45, 7).filter((r) => r.ts <= now)));
    const db = reader();
    const promql = createSqlitePromQL(db);

    const queries = [
      ...AGGREGATIONS.flatMap((op) => FNS.map((fn) => `${op}(${fn}_over_time(temp[1m]))`)),
      'sum(sum_over_time(temp[5m]))',
      'sum(count_over_time(temp[5m]))',
      'min(min_over_time(temp[5m]))',
      'max(max_over_time(humidity[10m]))',
    ];
    let compared = 0;
    const compare = async (phase: string) => {
      for (const text of queries) {
        for (const step of [MINUTE, 5 * MINUTE]) {
          const ev: PromEvaluation = { plan: parsePromQL(text), start: from + 10 * MINUTE, end, step };
          const fleetAnswer = await promql.evaluate(ev);
          const perSeries = await promql.evaluate(ev, { perSeries: true });
          const at = `${phase}: ${text} step ${step / MINUTE}m`;
          expect(fleetAnswer.fleet, at).toBe(true);
          expect(perSeries.fleet, at).toBeUndefined();
          expect(
            fleetAnswer.series.map((s) => s.labels),
            at,
          ).toEqual(perSeries.series.map((s) => s.labels));
          const [f, p] = [fleetAnswer.series[0], perSeries.series[0]];
          expect(f?.times, at).toEqual(p?.times);
          expect(f?.times.length ?? 0, at).toBeGreaterThan(0);
          f!.values.forEach((v, i) => {
            const want = p!.values[i]!;
            expect(Math.abs(v - want), `${at} @${f!.times[i]}`).toBeLessThanOrEqual(
              1e-9 * Math.max(1, Math.abs(want)),
            );
          });
          compared++;
        }
      }
    };

    await compare('before the re-aggregation');
    // Half of it rewritten: the minutes up to 20 minutes ago.
    await writer.refreshRollups({ now: now - 20 * MINUTE });
    await compare('half rewritten');
    await writer.refreshRollups({ now });
    await compare('rewritten');
    // Late readings into rewritten minutes, a few on their edges, and one more in the open minute.
    const late = fleet(25, from + 12 * MINUTE, 6, 99).filter((_, i) => i % 7 === 0);
    late.push({ device: 'dev-0', metric: 'temp', ts: now, value: 99 });
    await writer.write(makeBatch(late));
    await compare('late readings');
    await writer.refreshRollups({ now });
    await compare('late readings rewritten');
    expect(compared).toBe(5 * queries.length * 2);
  });

  it('leaves a selector that matches part of the fleet, and grouping by device, to the per-series path', async () => {
    const { writer, reader } = await openStore();
    const end = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    await writer.write(makeBatch(fleet(6, end - 20 * MINUTE, 20, 3)));
    await writer.refreshRollups();
    const db = reader();
    const promql = createSqlitePromQL(db);
    const ev = (text: string): PromEvaluation => ({
      plan: parsePromQL(text),
      start: end - 15 * MINUTE,
      end,
      step: MINUTE,
    });
    expect(
      (await promql.evaluate(ev('avg(avg_over_time(temp{device!="dev-0"}[1m]))'))).fleet,
    ).toBeUndefined();
    expect((await promql.evaluate(ev('avg by (device) (avg_over_time(temp[1m]))'))).fleet).toBeUndefined();
    expect((await promql.evaluate(ev('avg(sum_over_time(temp[5m]))'))).fleet).toBeUndefined();
    expect((await promql.evaluate(ev('avg(last_over_time(temp[1m]))'))).fleet).toBeUndefined();
    expect((await promql.evaluate(ev('avg(avg_over_time(temp{device=~"dev-.*"}[1m]))'))).fleet).toBe(true);
  });
});
