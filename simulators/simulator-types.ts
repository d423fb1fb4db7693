import type { Counters, LatencySummary } from './ack-stats.js';
import type { SimSummary } from './sim-summary.js';

export interface SimSnapshot {
  elapsedMs: number;
  target: number;
  counters: Counters;
  /** ack latency since the previous snapshot */
  latency: LatencySummary;
  errors: ReadonlyMap<string, number>;
}

export interface Simulator {
  /**
   * Connects the fleet, publishes until --duration or stop(), waits up to
   * --grace for outstanding acks, closes every connection and summarizes.
   * Rejects with GW_ERR_SIM_CONNECT when the first device cannot connect.
   */
  run(): Promise<SimSummary>;
  /** Ends the run early (Ctrl-C); run() still resolves with the summary. */
  stop(): void;
  /** For live progress; each call starts a new latency interval. */
  snapshot(): SimSnapshot;
}
