// `gateway_anomaly_score{device}`: the anomaly detector's records (GET
// /api/anomalies) as a PromQL series, so Grafana's Prometheus data source
// can draw them as annotations. Each record is a point at its time whose
// value is its score; the PromQL subset then runs over those points as it
// does over raw readings. Anomalies are few, so they are read whole.

import { evaluatePromQL } from '../../../storage/query/promql/promql-evaluate.js';
import type { PromEvaluation, PromResult } from '../../../storage/query/promql/promql-plan.js';
import type { PromSource } from '../../../storage/query/promql/promql-source.js';
import type { QueryService } from '../../../storage/query-port.js';

export const ANOMALY_METRIC = 'gateway_anomaly_score';

export async function anomalySeries(query: QueryService, ev: PromEvaluation): Promise<PromResult> {
  // (start - R, end]: anomalies() takes [from, to).
  const records = await query.anomalies({ from: ev.start - ev.plan.rangeMs + 1, to: ev.end + 1 });
  const ids = new Map<string, number>();
  for (const r of records) if (!ids.has(r.deviceId)) ids.set(r.deviceId, ids.size);
  const source: PromSource = {
    seriesOf: () => [...ids].map(([device, id]) => ({ id, device })),
    tier: () => undefined,
    readingsAt: () => undefined,
    readings(_ids, after, upTo, each) {
      for (const r of records) if (r.ts > after && r.ts <= upTo) each(ids.get(r.deviceId)!, r.ts, r.score);
    },
  };
  return evaluatePromQL(source, ev, { rawOnly: true });
}
