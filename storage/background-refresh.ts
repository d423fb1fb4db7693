// The writer's re-aggregation loop, for both backends: one step (one small
// transaction) at a time, queued behind the ingest batches that arrived
// meanwhile, so a commit waits behind one step at most; with nothing stale it
// polls for minutes that have closed.
//
// The steps are also paced to a share of one core, as PostgreSQL's autovacuum
// paces itself with a cost delay. Rewriting a closed minute at 5000 devices is
// seconds of the writer's CPU; back to back it took a whole core for those
// seconds, and on a 2-core box the event loop then waited for a core (its
// stalls at the minute boundary: docs/benchmarks.md → rollup pacing). Paced,
// the same work spreads over a few times as long. Queries are unaffected in
// what they answer: a minute still stale is answered from raw.
//
// Pacing must not let the job fall behind for good: at a quarter of a core it
// has 15 s of work a minute, which a fleet several times larger, or a replay
// storm, can exceed. A spell of work longer than a minute means the job is not
// keeping up, so it runs back to back until it has caught up, as it did before
// pacing.
import { GatewayError } from '../core/errors.js';
import { restForShare } from './query/query-pacer.js';
import { REFRESH_POLL_MS } from './rollup-refresh.js';

/** the default of --rollup-cpu-percent */
export const DEFAULT_ROLLUP_CPU_PERCENT = 25;
/** a spell of work (steps with more to do) paced for longer than this runs unpaced until it ends */
export const MAX_PACED_SPELL_MS = 60_000;

export interface BackgroundRefreshOptions {
  /**
   * `more` while work is left, and how long the step worked: a step that
   * waited in a queue first does not rest for the wait. A failed step is
   * reported and retried at the next poll.
   */
  step: () => StepOutcome | Promise<StepOutcome>;
  onError: (err: unknown) => void;
  /** share of one core the steps may take, 1–100; 100 runs them back to back */
  cpuPercent: number;
  /** after every step, done or failed */
  afterStep?: () => void;
  /** ms, monotonic; performance.now by default */
  now?: () => number;
  /** MAX_PACED_SPELL_MS by default */
  maxPacedSpellMs?: number;
}

export interface StepOutcome {
  more: boolean;
  workMs: number;
}

export interface BackgroundRefresh {
  stop(): void;
}

/** GW_ERR_CONFIG_INVALID unless 1 ≤ percent ≤ 100. */
export function checkRollupCpuPercent(percent: number): number {
  if (Number.isFinite(percent) && percent >= 1 && percent <= 100) return percent;
  throw new GatewayError('GW_ERR_CONFIG_INVALID', [`rollup CPU percent must be 1 to 100, not ${percent}`]);
}

export function startBackgroundRefresh(options: BackgroundRefreshOptions): BackgroundRefresh {
  const now = options.now ?? (() => performance.now());
  const maxPacedSpellMs = options.maxPacedSpellMs ?? MAX_PACED_SPELL_MS;
  // when the current spell of work began; undefined while the job is idle
  let spellSince: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    // setImmediate still lets the batches that arrived meanwhile in first.
    const next = ms <= 0 ? setImmediate(tick) : setTimeout(tick, ms);
    // The writer's port or pool keeps its thread alive while it is open; the loop alone must not.
    next.unref();
    timer = next;
  };
  const tick = async (): Promise<void> => {
    timer = undefined;
    let more = false;
    let workMs = 0;
    spellSince ??= now();
    try {
      ({ more, workMs } = await options.step());
    } catch (err) {
      if (!stopped) options.onError(err);
    }
    options.afterStep?.();
    if (!more) {
      spellSince = undefined;
      return schedule(REFRESH_POLL_MS);
    }
    const behind = now() - spellSince > maxPacedSpellMs;
    schedule(behind ? 0 : restForShare(workMs, options.cpuPercent / 100));
  };
  schedule(0);
  return {
    stop() {
      stopped = true;
      if (timer === undefined) return;
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    },
  };
}
