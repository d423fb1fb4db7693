// A large SQLite store made in a few SQL statements, for export tests and
// benchmarks: `devices` devices × one metric × `points` readings a minute
// apart. The schema comes from the real writer; the rows from recursive CTEs,
// far faster than batches through the writer.
import Database from 'better-sqlite3';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';

export async function makeLargeStore(path: string, devices: number, points: number, t0: number) {
  const writer = await openSqliteWriter({ path });
  await writer.close();
  const db = new Database(path);
  try {
    db.transaction(() => {
      db.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO series (id, device_id, metric) SELECT i, printf('big-%05d', i), 'temp' FROM n`,
      ).run(devices);
      db.prepare(
        `WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < ? - 1)
         INSERT INTO readings (ts, series_id, value)
           SELECT ? + j * 60000, s.id, s.id + j / 8.0 FROM k CROSS JOIN series s ORDER BY 1, 2`,
      ).run(points, t0);
    })();
  } finally {
    db.close();
  }
  return devices * points;
}
