// A Grafana-like refresh load on the Prometheus-compatible API: a dashboard
// of panels, all asked at once every few seconds (as Grafana refreshes them),
// over the last hours at a minute step; latency per panel. A round still
// running when the next is due is not doubled up: Grafana cancels instead.

import { median } from './proc-stats.js';

const MINUTE = 60_000;

export interface Panel {
  name: string;
  query: string;
  /** how far back the panel looks, ms */
  rangeMs: number;
  stepMs: number;
}

/** Ten panels of docs/grafana.md's dashboard shape, on `device` of the seeded history. */
export function dashboardPanels(device: string): Panel[] {
  const h = 60 * MINUTE;
  return [
    { name: 'fleet avg', query: 'avg(avg_over_time(temperature[1m]))', rangeMs: h, stepMs: MINUTE },
    { name: 'fleet max', query: 'max(max_over_time(temperature[1m]))', rangeMs: h, stepMs: MINUTE },
    { name: 'fleet min', query: 'min(min_over_time(temperature[1m]))', rangeMs: h, stepMs: MINUTE },
    { name: 'readings/min', query: 'sum(count_over_time(temperature[1m]))', rangeMs: h, stepMs: MINUTE },
    {
      name: 'devices reporting',
      query: 'count(last_over_time(temperature[5m]))',
      rangeMs: h,
      stepMs: MINUTE,
    },
    {
      name: 'device 24 h',
      query: `avg_over_time(temperature{device="${device}"}[1m])`,
      rangeMs: 24 * h,
      stepMs: MINUTE,
    },
    {
      name: 'device p95',
      query: `quantile_over_time(0.95, temperature{device="${device}"}[5m])`,
      rangeMs: 6 * h,
      stepMs: 5 * MINUTE,
    },
    { name: 'device last', query: `temperature{device="${device}"}`, rangeMs: h, stepMs: MINUTE },
    {
      name: 'ten devices',
      query: 'avg by (device) (avg_over_time(temperature{device=~"hist-0000.*"}[5m]))',
      rangeMs: 6 * h,
      stepMs: 5 * MINUTE,
    },
    { name: 'anomalies', query: 'max_over_time(gateway_anomaly_score[1m])', rangeMs: 6 * h, stepMs: MINUTE },
  ];
}

/** One panel's query, as Grafana sends it: POST form body, start and end aligned to the step. */
export async function askPanel(httpPort: number, p: Panel, now = Date.now()): Promise<number> {
  const end = Math.floor(now / p.stepMs) * p.stepMs;
  const body = new URLSearchParams({
    query: p.query,
    start: String((end - p.rangeMs) / 1000),
    end: String(end / 1000),
    step: String(p.stepMs / 1000),
  });
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/query_range`, { method: 'POST', body });
  const answer = (await res.json()) as { status: string; data?: { result: unknown[] } };
  if (res.status !== 200 || answer.status !== 'success')
    throw new Error(`panel ${p.name} answered ${res.status} ${JSON.stringify(answer).slice(0, 200)}`);
  return performance.now() - t0;
}

export function grafanaLoad(httpPort: number, panels: Panel[], everyMs: number) {
  const latencies = new Map<string, number[]>(panels.map((p) => [p.name, []]));
  let skipped = 0;
  let busy = false;
  let failure: unknown;
  const round = async () => {
    if (busy) {
      skipped++;
      return;
    }
    busy = true;
    try {
      await Promise.all(panels.map(async (p) => latencies.get(p.name)!.push(await askPanel(httpPort, p))));
    } catch (err) {
      failure ??= err;
    } finally {
      busy = false;
    }
  };
  void round();
  const timer = setInterval(() => void round(), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 50));
      if (failure !== undefined) throw failure;
      return { latencies, skipped };
    },
  };
}

export function latencyRows(latencies: Map<string, number[]>): string[] {
  return [...latencies].map(([name, ls]) => {
    const sorted = [...ls].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)] ?? Number.NaN;
    return `| ${name} | ${median(ls).toFixed(1)} | ${p95.toFixed(1)} | ${ls.length} |`;
  });
}
