// The query service a separate process (the CLI) opens on a database file:
// the SQLite implementation of the query port, on read-only connections.

import type { QueryService } from '../query-port.js';
import { openSqliteQueryService } from '../sqlite/query/sqlite-query-service.js';

export async function openQueryService(opts: { path: string }): Promise<QueryService> {
  // One reader thread: the CLI asks one question and exits.
  return openSqliteQueryService({ path: opts.path, threads: 1 });
}
