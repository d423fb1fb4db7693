#!/usr/bin/env node
// One generator process of a process fleet (process-fleet.ts): runs a window
// fleet for its share of the connections and answers the parent over IPC.
// A generator spread over processes lets a fast broker be measured on the
// same 2 cores without one generator process capping it.

import type { FleetChildOptions, FleetReply, FleetRequest } from './process-fleet.js';
import { startWindowFleet } from './window-fleet.js';

const options = JSON.parse(process.argv[2] ?? '{}') as FleetChildOptions;
const send = (reply: FleetReply) => process.send?.(reply);

// Connected, not yet sending: the parent starts every process's lanes at
// once, so no share of the fleet runs alone while another still connects.
const fleet = await startWindowFleet({ ...options, held: true }).catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
send({ type: 'ready' });
process.on('message', (request: FleetRequest) => {
  if (request.type === 'start') {
    fleet.start();
    return;
  }
  if (request.type === 'window') {
    send({ type: 'window', window: fleet.window() });
    return;
  }
  void fleet.stop().then((ackedInAll) => {
    // Exit once the answer is out: a lingering handle must not keep the process.
    process.send?.({ type: 'stopped', ackedInAll } satisfies FleetReply, () => process.exit(0));
  });
});
