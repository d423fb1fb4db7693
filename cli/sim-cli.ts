// `npm run sim -- --devices 5000 …`: the simulator as a command.

import {
  type CliStreams,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  finish,
  reportFailure,
} from '../simulators/cli-exit.js';
import { checkOpenFileLimit, readOwnOpenFileLimit } from '../simulators/fd-limit.js';
import { createProgress } from '../simulators/progress.js';
import { parseSimArgs, SIM_USAGE } from '../simulators/sim-options.js';
import { formatSummary } from '../simulators/sim-summary.js';
import { createSimulator } from '../simulators/simulator.js';

export async function runSimCli(argv: readonly string[], streams: CliStreams = process): Promise<number> {
  const json = argv.includes('--json');
  try {
    const options = parseSimArgs(argv);
    if (!options) {
      streams.stdout.write(`${SIM_USAGE}\n`);
      return EXIT_OK;
    }
    checkOpenFileLimit(options.devices, readOwnOpenFileLimit());
    const sim = createSimulator(options);
    const progress = options.quiet
      ? null
      : createProgress({ stream: process.stderr, snapshot: sim.snapshot });
    let interrupts = 0;
    const onSignal = () => {
      // The first Ctrl-C ends the run gracefully (acks, summary); a second one gives up.
      if (++interrupts > 1) process.exit(EXIT_INTERRUPTED);
      sim.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    progress?.start();
    try {
      const summary = await sim.run();
      progress?.stop();
      streams.stdout.write(`${json ? JSON.stringify(summary) : formatSummary(summary)}\n`);
      return summary.ok ? EXIT_OK : EXIT_FAILURE;
    } finally {
      progress?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } catch (err) {
    return reportFailure(err, json, streams);
  }
}

finish(await runSimCli(process.argv.slice(2)));
