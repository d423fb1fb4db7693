// What the forwarder shows (docs/edge.md): /metrics, /healthz, /api/stats and
// the dashboard all read one ForwardState, refreshed from the writer thread.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { ForwardStatus } from '../../storage/forward-port.js';

export interface ForwardState {
  /** the upstream URL, without credentials */
  upstream: string;
  connected: boolean;
  clientId: string;
  cursor: number;
  backlogReadings: number;
  backlogBatches: number;
  /** seconds since the oldest batch still owed committed; 0 when none is */
  backlogAgeS: number;
  forwardedReadings: number;
  droppedReadings: number;
  /** upstream messages published and not yet acknowledged */
  inFlight: number;
  /** upstream connections made since start, the first included */
  connects: number;
}

export function toForwardState(
  status: ForwardStatus,
  live: { upstream: string; connected: boolean; inFlight: number; connects: number },
  now: number,
): ForwardState {
  return {
    ...live,
    clientId: status.clientId,
    cursor: status.cursor,
    backlogReadings: status.backlogReadings,
    backlogBatches: status.backlogBatches,
    backlogAgeS: status.oldestCommittedAt === null ? 0 : Math.max(0, (now - status.oldestCommittedAt) / 1000),
    forwardedReadings: status.forwardedReadings,
    droppedReadings: status.droppedReadings,
  };
}

/** Registers the forward gauges; they read `state()` at each scrape. */
export function registerForwardMetrics(registry: Registry, state: () => ForwardState | undefined): void {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (s: ForwardState) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const s = state();
        if (s !== undefined) this.set(read(s));
      },
    });
  };
  gauge(
    'gateway_forward_backlog_readings',
    'Committed readings not yet acknowledged upstream',
    (s) => s.backlogReadings,
  );
  gauge(
    'gateway_forward_backlog_age_seconds',
    'Age of the oldest committed reading not yet acknowledged upstream',
    (s) => s.backlogAgeS,
  );
  gauge('gateway_forward_connected', '1 while the upstream session is connected', (s) =>
    s.connected ? 1 : 0,
  );
  gauge(
    'gateway_forward_in_flight_messages',
    'Upstream messages published and not yet acknowledged',
    (s) => s.inFlight,
  );
  const totals = (name: string, help: string, read: (s: ForwardState) => number): void => {
    // Counters kept in the database: the scrape reports them as they stand there.
    let seen: number | undefined;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const s = state();
        if (s === undefined) return;
        const now = read(s);
        this.inc(seen === undefined ? now : Math.max(0, now - seen));
        seen = now;
      },
    });
  };
  totals(
    'gateway_forward_acked_readings_total',
    'Readings acknowledged upstream (kept in the database)',
    (s) => s.forwardedReadings,
  );
  totals(
    'gateway_forward_dropped_readings_total',
    'Readings dropped from the forward log by --forward-max-backlog',
    (s) => s.droppedReadings,
  );
}
