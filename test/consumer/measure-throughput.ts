// A short, bounded measurement (not part of npm test): how fast 1 or 2
// consumer-mode gateways drain a backlog that Mosquitto holds for their
// persistent sessions, into PostgreSQL.
//   node build/test/consumer/measure-throughput.js <gateways> <sessions> <messages>
// The backlog is published while the gateways are stopped, so the figure is
// the gateways' drain rate, not the publisher's. Keep messages below
// sessions * gateways * 1000 (Mosquitto's max_queued_messages).
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { createTestSchema } from '../postgres/pg-schema.js';
import { discardSessions, MOSQUITTO_URL, runId, spawnConsumer } from './consumer-fixture.js';

const [gateways = 1, sessions = 4, messages = 3000] = process.argv.slice(2).map(Number);
const id = runId();
const schema = await createTestSchema('gw_measure');
const names = Array.from({ length: gateways }, (_, g) => `m7-${id}-${g}`);
const clientIds = names.flatMap((n) => Array.from({ length: sessions }, (_, i) => `${n}-${i}`));
const start = (name: string) =>
  spawnConsumer({ db: schema.url, group: `m7-${id}`, clientId: name, sessions });
try {
  // 1. Create the sessions and the schema, then stop: Mosquitto keeps the sessions.
  for (const g of await Promise.all(names.map(start))) await g.stop('SIGTERM');
  process.stderr.write('sessions created\n');
  // 2. The backlog: QoS 1, 10 devices, 3 readings a message.
  const pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `m7-${id}-pub` });
  const t0 = Date.now() - 60_000;
  await Promise.all(
    Array.from({ length: messages }, (_, i) =>
      pub.publishAsync(
        `devices/m7-${id}-dev-${i % 10}/telemetry`,
        JSON.stringify({ ts: t0 + i, values: { temperature: 20 + (i % 7), humidity: 40, pressure: 1000 } }),
        { qos: 1 },
      ),
    ),
  );
  await pub.endAsync();
  process.stderr.write('backlog published\n');
  // 3. Start the gateways and time the drain (first to last stored reading).
  const expected = messages * 3;
  const running = await Promise.all(names.map(start));
  let first = 0;
  let last = 0;
  const deadline = Date.now() + 120_000;
  for (let n = 0; n < expected && Date.now() < deadline; await sleep(20)) {
    n = (await schema.query<{ n: number }>('SELECT count(*)::integer AS n FROM readings'))[0]!.n;
    if (n > 0 && first === 0) first = Date.now();
    if (n >= expected) last = Date.now();
  }
  for (const g of running) await g.stop('SIGTERM');
  const seconds = (last - first) / 1000;
  process.stdout.write(
    `${JSON.stringify({ gateways, sessions, messages, readings: expected, seconds, messagesPerSec: Math.round(messages / seconds), readingsPerSec: Math.round(expected / seconds) })}\n`,
  );
} finally {
  await discardSessions(clientIds);
  await schema.drop();
}
