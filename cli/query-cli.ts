// npm run query -- <devices|latest|series|anomalies|readings|dead-letters> [options]
// The logic is in query/cli.ts; this file binds it to the process and the real database.
import { openQueryService, openReader, storageExists } from '../storage/open-storage.js';
import { runQueryCli } from './query-commands.js';

// `| head` closing the pipe early is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});
process.exitCode = await runQueryCli(process.argv.slice(2), {
  env: process.env,
  now: () => Date.now(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // --db: a SQLite path or a postgres:// URL (storage/open-storage.ts).
  exists: storageExists,
  openReader: (db) => openReader(db),
  openQuery: async (db, cpuShare) => openQueryService(db, { threads: 1, cpuShare }),
});
