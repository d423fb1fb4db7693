// Consumer-mode fixtures: gateways spawned the way a user runs them, in one
// share group on the Mosquitto of the project's machines, storing into a fresh
// PostgreSQL schema. Names are unique per run, so parallel runs and the
// broker's other users do not collide.
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';

export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';

export function runId(): string {
  return randomBytes(4).toString('hex');
}

export function spawnConsumer(opts: {
  db: string;
  group: string;
  clientId: string;
  sessions: number;
  extra?: string[];
}): Promise<GatewayProcess> {
  return spawnGateway([
    '--db',
    opts.db,
    '--ingest',
    MOSQUITTO_URL,
    '--share-group',
    opts.group,
    '--ingest-client-id',
    opts.clientId,
    '--ingest-sessions',
    String(opts.sessions),
    '--analytics',
    'off',
    '--stats-interval-ms',
    '200',
    ...(opts.extra ?? []),
  ]);
}

/**
 * Resolves once `check` holds, re-checking whenever a gateway writes a log
 * line (their stats lines come every 200 ms): no sleeps, bounded in time.
 */
export function untilLogged(
  gateways: GatewayProcess[],
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let busy = false;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const g of gateways) g.proc.stdout?.off('data', onData);
      if (err) reject(err);
      else resolve();
    };
    const onData = () => {
      if (busy || done) return;
      busy = true;
      check().then(
        (ok) => {
          busy = false;
          if (ok) finish();
        },
        (err: Error) => finish(err),
      );
    };
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    for (const g of gateways) g.proc.stdout?.on('data', onData);
    onData();
  });
}

/** Discards the broker's persistent sessions of a test (Mosquitto keeps them, on disk, forever otherwise). */
export async function discardSessions(clientIds: string[]): Promise<void> {
  for (const clientId of clientIds) {
    const client = await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true, reconnectPeriod: 0 });
    await client.endAsync();
  }
}
