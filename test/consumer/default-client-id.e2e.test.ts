// Two gateways on one host, each with its own SQLite database and no
// --ingest-client-id: their default ClientIds differ (an id kept in each
// database), so neither takes over the other's sessions; a restart on the
// same database finds the same ClientId again.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';
import { createTestSchema } from '../postgres/pg-schema.js';
import { discardSessions, MOSQUITTO_URL, runId } from './consumer-fixture.js';

describe('the default ingest ClientId', () => {
  const running = new Set<GatewayProcess>();
  const sessions: string[] = [];
  afterEach(async () => {
    await Promise.all([...running].map((g) => g.stop('SIGTERM')));
    running.clear();
    await discardSessions(sessions.splice(0));
  });

  const start = async (db: string, group: string) => {
    const g = await spawnGateway(['--db', db, '--ingest', MOSQUITTO_URL, '--share-group', group]);
    running.add(g);
    const line = g.logs.find((l) => l.msg === 'ingest: subscribed') as { clientIds: string[] };
    sessions.push(...line.clientIds);
    return { g, clientIds: line.clientIds };
  };

  it('is unique per instance and stable across its restarts', async () => {
    const group = `c16-${runId()}`;
    const dir = tempDir('gw-client-id-');
    const a = await start(join(dir, 'a.db'), group);
    const b = await start(join(dir, 'b.db'), group);
    expect(a.clientIds[0]).toMatch(/^sensor-gateway-.+-[0-9a-z]+-0$/);
    expect(new Set([...a.clientIds, ...b.clientIds]).size).toBe(a.clientIds.length * 2);
    // Neither session was taken over: both gateways are still connected, once each.
    for (const { g } of [a, b])
      expect(g.logs.filter((l) => l.msg === 'ingest: disconnected; reconnecting')).toEqual([]);
    await a.g.stop('SIGTERM');
    running.delete(a.g);
    const again = await start(join(dir, 'a.db'), group);
    expect(again.clientIds).toEqual(a.clientIds);
  });

  it('must be given with a PostgreSQL store, which several instances share', async () => {
    const schema = await createTestSchema();
    const out = await runCli('gateway/main.js', [
      '--db',
      schema.url,
      '--ingest',
      MOSQUITTO_URL,
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/GW_ERR_CONFIG_INVALID/);
    await schema.drop();
  });
});
