// `npm run demo`: the gateway in a child process, the simulator in this one,
// then a look at what was stored. One command shows the whole path working.

import { once } from 'node:events';
import { dirname, join } from 'node:path';
import {
  type CliStreams,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  finish,
  reportFailure,
} from '../simulators/cli-exit.js';
import { DEMO_USAGE, parseDemoArgs } from '../simulators/demo-options.js';
import { collectDemoReport, formatDemoReport, watchGatewayMetrics } from '../simulators/demo-report.js';
import { checkOpenFileLimit, readOwnOpenFileLimit } from '../simulators/fd-limit.js';
import { type GatewayProcess, startGatewayProcess } from '../simulators/gateway-process.js';
import { createProgress } from '../simulators/progress.js';
import { deviceId } from '../simulators/sim-options.js';
import { createSimulator } from '../simulators/simulator.js';
import { openQueryService } from '../storage/open-storage.js';
import { MAX_ANOMALY_LIMIT } from '../storage/query/params.js';
import { openSqliteReader } from '../storage/sqlite/sqlite-reader.js';

export async function runDemoCli(argv: readonly string[], streams: CliStreams = process): Promise<number> {
  let gateway: GatewayProcess | null = null;
  try {
    const options = parseDemoArgs(argv);
    if (!options) {
      streams.stdout.write(`${DEMO_USAGE}\n`);
      return EXIT_OK;
    }
    // The gateway child inherits this limit and needs a descriptor per device too.
    checkOpenFileLimit(options.sim.devices, readOwnOpenFileLimit());
    const logPath = join(dirname(options.db), 'gateway.log');
    streams.stdout.write(`Starting the gateway (database ${options.db}, log ${logPath}) …\n`);
    // Its own process group: a Ctrl-C in the terminal reaches only the demo,
    // which stops the simulator first and the gateway after the last ack.
    gateway = await startGatewayProcess({
      db: options.db,
      mqttPort: options.mqttPort,
      logPath,
      readyTimeoutMs: 30_000,
      detached: true,
    });
    const url = `mqtt://${gateway.host}:${gateway.mqttPort}`;
    streams.stdout.write(
      `Gateway ready: ${url}, http://${gateway.host}:${gateway.httpPort}/metrics\n` +
        `Simulating ${options.sim.devices} devices for ${options.sim.durationS} s …\n`,
    );

    const sim = createSimulator({ ...options.sim, url, host: gateway.host, port: gateway.mqttPort });
    const progress = createProgress({ stream: process.stderr, snapshot: sim.snapshot });
    let interrupts = 0;
    const onSignal = () => {
      if (++interrupts > 1) {
        void gateway?.stop('SIGTERM', 5000).finally(() => process.exit(EXIT_INTERRUPTED));
        return;
      }
      sim.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const watcher = watchGatewayMetrics(`http://${gateway.host}:${gateway.httpPort}/metrics`);
    // Device clocks may run up to 20 s behind (simulators/sensor-model.ts clockSkewMs).
    const runFrom = Date.now() - 60_000;
    progress.start();
    const summary = await sim.run().finally(() => progress.stop());
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);

    const figures = await watcher.stop();
    const reader = openSqliteReader({ path: options.db });
    const query = openQueryService(options.db);
    try {
      // Every message was acked, and alerts are stored within moments of their ack.
      const alerts = await query.anomalies({ from: runFrom, limit: MAX_ANOMALY_LIMIT });
      const report = await collectDemoReport({
        reader,
        gateway: figures,
        preferredDeviceId: deviceId(options.sim.idPrefix, 0, options.sim.devices),
        alerts,
      });
      streams.stdout.write(
        `${formatDemoReport(report, summary, { db: options.db, host: gateway.host, mqttPort: gateway.mqttPort, httpPort: gateway.httpPort })}\n`,
      );
    } finally {
      await reader.close();
      await query.close();
    }
    if (summary.error) streams.stderr.write(`${summary.error.code}: ${summary.error.message}\n`);

    const stay = streams.stdout === process.stdout && process.stdout.isTTY === true && !options.exit;
    if (stay && interrupts === 0) {
      streams.stdout.write(`\nThe gateway is still running on ${url}. Press Ctrl-C to stop it.\n`);
      // SIGHUP too: a closed terminal must not orphan the gateway (it runs in its own process group).
      await Promise.race([
        once(process, 'SIGINT'),
        once(process, 'SIGTERM'),
        once(process, 'SIGHUP'),
        gateway.exited,
      ]);
    }
    const code = await gateway.stop('SIGTERM', 30_000);
    const restart = `npm start -- --db ${options.db}`;
    streams.stdout.write(
      code === 0
        ? `\nGateway stopped. Start it again with: ${restart}\n`
        : `\nThe gateway exited with code ${code}; see ${logPath}\n`,
    );
    return summary.ok && code === 0 ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    await gateway?.stop('SIGTERM', 5000);
    return reportFailure(err, false, streams);
  }
}

finish(await runDemoCli(process.argv.slice(2)));
