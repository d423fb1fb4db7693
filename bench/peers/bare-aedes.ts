#!/usr/bin/env node
// The ceiling our broker layer could reach: the same aedes version, in-memory
// persistence, no pipeline, no storage. A PUBACK here means "routed", not
// "stored". Prints {"port": N} once listening; SIGTERM stops it.

import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? '0');
const broker = await Aedes.createBroker({ connectTimeout: 10_000 });
const server = createServer(broker.handle);
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : port })}\n`,
  );
});
process.once('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
