import type { Logger } from 'pino';
import { FORWARD_BACKOFF } from '../../core/backoff.js';
import { GatewayError } from '../../core/errors.js';
import { createForwarder } from '../../pipelines/forward/forwarder.js';
import type { ForwardLog } from '../../storage/forward-port.js';
import { redactUrl } from '../../storage/open-storage.js';
import type { StorageWriter } from '../../storage/port.js';
import type { GatewayConfig } from '../config.js';
import { type ForwardState, registerForwardMetrics, toForwardState } from '../forward/forward-state.js';
import { openUpstreamPool } from '../forward/upstream-pool.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Started } from './lifecycle.js';

/** How often the backlog figures are read from the writer thread. */
const STATUS_POLL_MS = 1_000;
/** How often an idle forwarder looks for new commits. */
const IDLE_POLL_MS = 50;

export type ForwardConfig = Pick<
  GatewayConfig,
  | 'forward'
  | 'forwardCa'
  | 'forwardCert'
  | 'forwardKey'
  | 'forwardUsername'
  | 'forwardPassword'
  | 'forwardClientId'
  | 'forwardTopicPrefix'
  | 'forwardWindow'
  | 'forwardSessions'
  | 'forwardPageReadings'
  | 'maxReadingsPerMessage'
  | 'maxPayloadBytes'
>;

export interface ForwardStepDeps {
  config: ForwardConfig;
  writer: Pick<StorageWriter, 'forward'>;
  metrics: Pick<GatewayMetrics, 'registry'>;
  logger: Logger;
}

/**
 * Store and forward (docs/edge.md): with --forward, everything committed is
 * published upstream from the cursor in the database. Starts whether or not
 * the upstream answers: the edge takes readings all the same.
 */
export async function forwardStep(
  deps: ForwardStepDeps,
): Promise<Started<{ forwardState: () => ForwardState | undefined }>> {
  const { config, logger } = deps;
  if (config.forward === '') return { provides: { forwardState: () => undefined } };
  const log = deps.writer.forward;
  if (log === undefined) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      '--forward needs a SQLite --db (the forward log lives there)',
    ]);
  }
  let status = await log.status();
  const upstream = redactUrl(config.forward);
  const session = openUpstreamPool(
    {
      url: config.forward,
      clientId: config.forwardClientId === '' ? status.clientId : config.forwardClientId,
      ...optional(config),
      logger,
      backoff: FORWARD_BACKOFF,
      onConnect: () => forwarder.wake(),
    },
    config.forwardSessions,
  );
  const forwarder = createForwarder({
    log,
    upstream: session,
    topicPrefix: config.forwardTopicPrefix,
    // What a central gateway of ours accepts by default, and this one too.
    limits: { maxReadings: config.maxReadingsPerMessage, maxBytes: config.maxPayloadBytes },
    window: config.forwardWindow,
    pageReadings: config.forwardPageReadings,
    idlePollMs: IDLE_POLL_MS,
    onError: (err) => logger.warn({ err }, 'forward: step failed; retrying'),
  });
  const state = (): ForwardState => {
    const { inFlight } = forwarder.stats();
    return toForwardState(
      status,
      { upstream, connected: session.connected, inFlight, connects: session.connects },
      Date.now(),
    );
  };
  const poller = pollStatus(
    log,
    (next) => {
      status = next;
    },
    logger,
  );
  registerForwardMetrics(deps.metrics.registry, state);
  logger.info(
    { upstream, clientId: status.clientId, backlogReadings: status.backlogReadings },
    'forward: on',
  );
  return {
    provides: { forwardState: state },
    open: () => {
      void forwarder.start().catch((err: unknown) => logger.error({ err }, 'forward: cannot start'));
    },
    stop: {
      close: async () => {
        poller.stop();
        await forwarder.stop();
        await session.close();
      },
    },
  };
}

function optional(config: ForwardConfig): Record<string, string> {
  const out: Record<string, string> = {};
  if (config.forwardUsername !== '') out.username = config.forwardUsername;
  if (config.forwardPassword !== '') out.password = config.forwardPassword;
  if (config.forwardCa !== '') out.caFile = config.forwardCa;
  if (config.forwardCert !== '') out.certFile = config.forwardCert;
  if (config.forwardKey !== '') out.keyFile = config.forwardKey;
  return out;
}

function pollStatus(
  log: ForwardLog,
  update: (status: Awaited<ReturnType<ForwardLog['status']>>) => void,
  logger: Logger,
): { stop(): void } {
  const timer = setInterval(() => {
    log.status().then(update, (err: unknown) => logger.debug({ err }, 'forward: status read failed'));
  }, STATUS_POLL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
