// Consumer mode: besides its own broker, the gateway takes telemetry from an
// external (clustered) broker as a member of a shared-subscription group, so
// several gateways split one stream. Each gateway opens `sessions` persistent
// sessions (ClientIds {clientId}-0 .. -{n-1}); the broker spreads messages
// over every session of the group.
import type { Logger } from 'pino';
import { type BackoffPolicy, UPSTREAM_BACKOFF } from '../../core/backoff.js';
import { GatewayError } from '../../core/errors.js';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import { redactUrl } from '../../storage/open-storage.js';
import { type ConsumerSession, openConsumerSession } from './consumer-session.js';

export interface ConsumerOptions {
  /** mqtt://host:1883 or mqtts://host:8883 */
  url: string;
  shareGroup: string;
  clientId: string;
  sessions: number;
  username?: string;
  password?: string;
  pipeline: Pick<IngestPipeline, 'offer'>;
  logger: Logger;
  backoff?: BackoffPolicy;
  connectTimeoutMs?: number;
  keepaliveS?: number;
}

export interface RunningConsumer {
  readonly clientIds: readonly string[];
  /** sessions currently connected */
  connected(): number;
  /** messages delivered by the broker so far */
  delivered(): number;
  /** Call when the pipeline starts draining: refused messages then end their session instead of reconnecting. */
  quiesce(): void;
  /** Call after the drain, so the acks of everything admitted go out before DISCONNECT. */
  close(): Promise<void>;
}

/** The share group's subscriptions: the two telemetry topic forms of the sensor contract. */
export function shareTopics(group: string): string[] {
  return [`$share/${group}/devices/+/telemetry`, `$share/${group}/devices/+/telemetry/+`];
}

/**
 * Opens the sessions and resolves once each holds its subscriptions. A broker
 * that cannot be reached at start fails with GW_ERR_INGEST_CONNECT (a
 * supervisor restarts the gateway); later losses reconnect with backoff.
 */
export async function startConsumer(opts: ConsumerOptions): Promise<RunningConsumer> {
  if (!/^[^/+#]+$/.test(opts.shareGroup)) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      `share group "${opts.shareGroup}" must not contain / + #`,
    ]);
  }
  const topics = shareTopics(opts.shareGroup);
  const sessions: ConsumerSession[] = [];
  for (let i = 0; i < opts.sessions; i++) {
    sessions.push(
      openConsumerSession({
        url: opts.url,
        clientId: `${opts.clientId}-${i}`,
        topics,
        pipeline: opts.pipeline,
        logger: opts.logger,
        backoff: opts.backoff ?? UPSTREAM_BACKOFF,
        connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
        keepaliveS: opts.keepaliveS ?? 30,
        ...(opts.username === undefined ? {} : { username: opts.username }),
        ...(opts.password === undefined ? {} : { password: opts.password }),
      }),
    );
  }
  const closeAll = () => Promise.all(sessions.map((s) => s.close())).then(() => {});
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    // A broker that never answers CONNECT makes mqtt.js retry silently: bound the wait.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no SUBACK within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
    });
    await Promise.race([Promise.all(sessions.map((s) => s.subscribed)), timeout]);
  } catch (err) {
    await closeAll().catch(() => {});
    throw new GatewayError('GW_ERR_INGEST_CONNECT', [redactUrl(opts.url), (err as Error).message], {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
  return {
    clientIds: sessions.map((s) => s.clientId),
    connected: () => sessions.filter((s) => s.connected).length,
    delivered: () => sessions.reduce((n, s) => n + s.delivered, 0),
    quiesce: () => {
      for (const s of sessions) s.quiesce();
    },
    close: closeAll,
  };
}
