#!/usr/bin/env node

// The composition root: read and validate config, then wire storage, the
// pipeline, the broker and the HTTP server. Nothing else reads process.env.

import { setFlagsFromString } from 'node:v8';
import { GatewayError } from '../core/errors.js';
import { openDeviceRegistry } from '../devices/device-registry.js';
import { isPostgresUrl, openWriter } from '../storage/open-storage.js';
import { helpText, loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { dashboardUrl } from './http/dashboard-url.js';
import { createLogger } from './logger.js';

async function main(): Promise<number> {
  // Listen for signals before anything starts, so a SIGTERM during start-up
  // still ends in a drain rather than the default abrupt exit.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const { config, help, configFile } = loadConfig({ argv: process.argv.slice(2), env: process.env });
  if (help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  // Before the heaps grow and before any worker thread starts: V8 reads the
  // factor each time it sets a heap's next full-GC limit, and the flag is
  // process-wide, so every thread's heap follows it.
  if (config.heapGrowthPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
  // V8 allocates straight into the old generation the objects of an
  // allocation site whose objects it has seen survive scavenges. A message's
  // decoded readings and its held state live from a few ms to a commit's
  // wait, and in some runs V8 pretenured their sites for the rest of the
  // run: their garbage then died in the old generation, Mark-Compacts came
  // twice as often, and the run cost 2.5-4.5 us per ack more
  // (docs/benchmarks.md, "two modes of garbage collection, and V8's
  // pretenuring"). Process-wide, so the worker threads follow it.
  setFlagsFromString('--no-allocation-site-pretenuring');
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    isTTY: process.stdout.isTTY === true,
  });

  // A bug must still end in a line the operator's log collector sees, not
  // only a stack trace on stderr. Exiting is right: nothing acked is at risk
  // (ack means committed), and clients resend what was not acked.
  process.once('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception: exiting with code 1');
    logger.flush();
    process.exit(1);
  });

  // A dead writer thread never commits again: fail fast, so a supervisor
  // restarts the gateway instead of publishers reconnecting into errors forever.
  let writerDeath: GatewayError | undefined;
  let onWriterDeath: (err: GatewayError) => void = () => {};
  const writerDied = new Promise<GatewayError>((resolve) => {
    onWriterDeath = resolve;
  });
  // --db: a postgres:// URL is PostgreSQL, a path SQLite (storage/open-storage.ts).
  const { writer, describe: storage } = await openWriter(config.db, {
    synchronous: config.synchronous,
    maxDbBytes: config.maxDbBytes,
    cacheMb: config.sqliteCacheMb,
    rollupCpuPercent: config.rollupCpuPercent,
    log: (message, fields) => logger.info(fields ?? {}, message),
    onDeath: (err) => {
      writerDeath = err;
      onWriterDeath(err);
    },
    // Retried at the next slice; one line per failure is enough to see a full disk.
    onRefreshError: (err) => logger.warn({ err }, 'rollup re-aggregation step failed'),
    // --forward: each commit also enters the forward log (docs/edge.md).
    ...(config.forward === '' ? {} : { forward: { maxBacklogReadings: config.forwardMaxBacklog } }),
  });
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  // Opened after the writer, which has created the database and run the migrations.
  let registry: ReturnType<typeof openDeviceRegistry> | undefined;
  try {
    // Device credentials live in the SQLite registry only; with PostgreSQL no
    // device can authenticate to the embedded broker (consumer mode leaves that to the external broker).
    registry = isPostgresUrl(config.db)
      ? undefined
      : openDeviceRegistry({
          path: config.db,
          onUpgraded: (rows) => logger.info({ rows }, 'device tokens rehashed from scrypt to HMAC'),
          onUpgradeError: (err) =>
            logger.warn({ err }, 'device token rehash failed; those tokens still verify'),
        });
    gateway = await startGateway({ config, logger, writer, ...(registry === undefined ? {} : { registry }) });
  } catch (err) {
    registry?.close();
    await writer.close();
    throw err;
  }

  logger.info(
    {
      host: gateway.mqtt.host,
      mqttPort: gateway.mqtt.port,
      httpPort: gateway.http.port,
      dashboard: dashboardUrl(gateway.http),
      ...(gateway.tls === undefined ? {} : { tlsPort: gateway.tls.port }),
      ...(gateway.ws === undefined ? {} : { wsPort: gateway.ws.port }),
      ...(gateway.ops === undefined ? {} : { metricsPort: gateway.ops.port }),
      ...storage,
      ...(configFile === undefined ? {} : { configFile }),
    },
    'gateway ready',
  );

  const stop = await Promise.race([stopSignal, writerDied]);
  if (stop instanceof GatewayError) {
    // Whatever was acked is committed; the close settles what is pending with errors, so nothing more is acked.
    const cause = stop.cause instanceof Error ? stop.cause.message : String(stop.cause);
    logger.fatal({ code: stop.code, cause }, 'storage writer thread died: shutting down, exit code 1');
  } else logger.info({ signal: stop }, 'shutting down: draining the pipeline');
  await gateway.close();
  registry?.close();
  await writer.close();
  logger.info({ totals: gateway.metrics.totals }, 'stopped');
  logger.flush();
  return writerDeath === undefined ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One line a person can act on; the code is for scripts and tests.
    if (err instanceof GatewayError) process.stderr.write(`gateway: ${err.code}: ${err.message}\n`);
    else
      process.stderr.write(`gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
