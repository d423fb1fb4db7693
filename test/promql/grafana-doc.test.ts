// docs/grafana-dashboard.json: every query of the dashboard, with Grafana's
// variables filled in as Grafana would, is PromQL the gateway answers.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePromQL } from '../../storage/query/promql/promql-parser.js';

interface Dashboard {
  panels: { targets?: { expr: string }[] }[];
  annotations: { list: { expr: string }[] };
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8'),
) as Dashboard;

function filled(expr: string): string {
  return expr
    .replaceAll('$metric', 'BME280.Temperature')
    .replaceAll('$device', '(pi-a|pi-b)')
    .replaceAll('$__interval', '2m');
}

describe('the Grafana dashboard of docs/grafana.md', () => {
  it('asks only PromQL the gateway answers', () => {
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr),
      ...dashboard.annotations.list.map((a) => a.expr),
    ];
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) expect(() => parsePromQL(filled(expr)), expr).not.toThrow();
    expect(parsePromQL(filled(dashboard.annotations.list[0]!.expr)).metric).toBe('gateway_anomaly_score');
  });
});
