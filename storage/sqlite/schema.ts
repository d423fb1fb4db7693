import type { Database } from 'better-sqlite3';

/**
 * Migration i brings the schema from user_version i to i + 1. Append only:
 * a released step is never edited, because databases in the field already ran it.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
  );
  -- Interns (device, metric) so a reading row carries one small integer.
  CREATE TABLE series (
    id        INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    metric    TEXT NOT NULL,
    UNIQUE (device_id, metric)
  );
  -- Time first: appends in ts order hit the right edge of the B-tree
  -- (~507k rows/s vs ~115k rows/s for (series_id, ts) on 15k series).
  -- The key also makes a retransmitted reading a no-op under INSERT OR IGNORE.
  CREATE TABLE readings (
    ts        INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (ts, series_id)
  ) WITHOUT ROWID;
  CREATE TABLE dead_letters (
    id             INTEGER PRIMARY KEY,
    received_at    INTEGER NOT NULL,
    device_id      TEXT,
    topic          TEXT NOT NULL,
    code           TEXT NOT NULL,
    rejections     TEXT NOT NULL, -- JSON array of {index, metric?, code}
    rejected_count INTEGER NOT NULL,
    accepted_count INTEGER NOT NULL,
    payload        BLOB NOT NULL,
    payload_bytes  INTEGER NOT NULL
  );
  CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
  `,
  // Device credentials (devices/device-registry.ts). A table of its own, not
  // columns on `devices`: `devices` records who SENT data and is upserted by
  // the writer thread; a credential exists before any data, outlives a
  // revocation for the audit trail, and is written by the devices CLI while
  // the gateway runs, so the two must not contend on the same rows.
  `
  CREATE TABLE device_credentials (
    device_id       TEXT PRIMARY KEY,
    token_hash      BLOB NOT NULL,
    token_salt      BLOB NOT NULL,
    kdf             TEXT NOT NULL,   -- JSON {"alg":"scrypt","N","r","p","keylen"}: raise later, old rows still verify
    allowed_metrics TEXT,            -- JSON array of metric names; NULL means any
    note            TEXT,
    created_at      INTEGER NOT NULL,
    rotated_at      INTEGER,
    revoked_at      INTEGER,
    version         INTEGER NOT NULL -- from one increasing sequence; the gateway polls version > last seen
  );
  CREATE INDEX device_credentials_version ON device_credentials (version);
  `,
  // Rollup tiers and anomalies (pipelines/analytics, storage/sqlite/rollups).
  // Keyed (series_id, bucket), not time first like readings: a rollup row is
  // written about once a minute per series (~250 rows/s at 15k series), so the
  // random B-tree insert is cheap, and a query for one device's series is then
  // a range seek instead of a scan of every series in the time range.
  // The bucket indexes serve retention's oldest-first deletes.
  `
  CREATE TABLE rollups_1m (
    series_id   INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    sum         REAL NOT NULL,
    m2          REAL NOT NULL,
    min         REAL NOT NULL,
    max         REAL NOT NULL,
    first_ts    INTEGER NOT NULL,
    first_value REAL NOT NULL,
    last_ts     INTEGER NOT NULL,
    last_value  REAL NOT NULL,
    sketch      BLOB NOT NULL,
    PRIMARY KEY (series_id, bucket)
  ) WITHOUT ROWID;
  CREATE INDEX rollups_1m_bucket ON rollups_1m (bucket);
  CREATE TABLE rollups_1h (
    series_id   INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    sum         REAL NOT NULL,
    m2          REAL NOT NULL,
    min         REAL NOT NULL,
    max         REAL NOT NULL,
    first_ts    INTEGER NOT NULL,
    first_value REAL NOT NULL,
    last_ts     INTEGER NOT NULL,
    last_value  REAL NOT NULL,
    sketch      BLOB NOT NULL,
    PRIMARY KEY (series_id, bucket)
  ) WITHOUT ROWID;
  CREATE INDEX rollups_1h_bucket ON rollups_1h (bucket);
  CREATE TABLE anomalies (
    ts            INTEGER NOT NULL,
    series_id     INTEGER NOT NULL,
    value         REAL NOT NULL,
    score         REAL NOT NULL,
    expected_low  REAL NOT NULL,
    expected_high REAL NOT NULL,
    PRIMARY KEY (ts, series_id)
  ) WITHOUT ROWID;
  `,
  // Small facts the writer keeps across restarts. It held 'analytics_watermark'
  // for the start-up rollup rebuild of earlier versions; the invalidation log
  // of the next step replaced it, and that step deletes the row.
  `
  CREATE TABLE gateway_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // The invalidation log of the rollup tiers (storage/sqlite/rollups/): a
  // (series, minute) is listed from the transaction that stores a reading in
  // it until the re-aggregation has rewritten that minute's row from raw, so a
  // crash cannot lose the mark. While listed, queries answer that minute from
  // raw readings. An hour is listed in rollups_1h_stale from the rewrite of
  // one of its minutes until its row is rebuilt from its minutes.
  // Time first, like readings: marks are appended at the right edge.
  // Every raw minute is listed once here: rollups written by earlier versions
  // missed readings that came after their minute closed, and raw is the truth.
  `
  CREATE TABLE rollups_1m_stale (
    bucket    INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    PRIMARY KEY (bucket, series_id)
  ) WITHOUT ROWID;
  CREATE INDEX rollups_1m_stale_series ON rollups_1m_stale (series_id, bucket);
  CREATE TABLE rollups_1h_stale (
    bucket    INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    PRIMARY KEY (bucket, series_id)
  ) WITHOUT ROWID;
  CREATE INDEX rollups_1h_stale_series ON rollups_1h_stale (series_id, bucket);
  INSERT OR IGNORE INTO rollups_1m_stale (bucket, series_id)
    SELECT DISTINCT ts - ts % 60000, series_id FROM readings;
  DELETE FROM gateway_state WHERE key = 'analytics_watermark';
  `,
  // Alerts have a lifecycle (pipelines/analytics-workers/alert-lifecycle.ts):
  // a row is the reading that raised a series' alert or the one that cleared
  // it. Rows stored before were single detections, so they read as raised.
  `
  ALTER TABLE anomalies ADD COLUMN state TEXT NOT NULL DEFAULT 'raised' CHECK (state IN ('raised', 'cleared'));
  `,
  // What a payload format says about a series (pipelines/adapters/): the unit
  // (°C, hPa) and Home Assistant's device_class. NULL where nothing was said.
  `
  ALTER TABLE series ADD COLUMN unit TEXT;
  ALTER TABLE series ADD COLUMN device_class TEXT;
  `,
  // A bridge credential (devices/bridge.ts): 'zigbee2mqtt' or 'sparkplug:{group}'; NULL for a device.
  `
  ALTER TABLE device_credentials ADD COLUMN bridge TEXT;
  `,
  // Store and forward (storage/sqlite/forward-log.ts, docs/edge.md): with
  // --forward, each committed batch's readings are appended here in the same
  // transaction, one row per batch in commit order. The forwarder pages by
  // seq, not by ts, so a late reading (an old ts committed now) is forwarded
  // like any other. A row is deleted, and the cursor in gateway_state moved,
  // only after the upstream broker acknowledged every message made from it.
  // AUTOINCREMENT: a seq is never reused after the table empties, so the
  // cursor can never point past rows still to come.
  `
  CREATE TABLE forward_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    committed_at INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    names        TEXT NOT NULL, -- JSON {"devices": [...], "metrics": [...]}
    device_index BLOB NOT NULL, -- Uint32 per reading, into names.devices
    metric_index BLOB NOT NULL, -- Uint32 per reading, into names.metrics
    ts           BLOB NOT NULL, -- Float64 epoch ms per reading
    value        BLOB NOT NULL  -- Float64 per reading
  );
  `,
  // The fleet tier (storage/fleet-rollup.ts): per metric and window
  // (window_end − 1 min, window_end], statistics across series of each
  // series' window value, so a fleet-wide aggregation reads a row a minute
  // instead of one per series. A (window, metric) is listed in the stale log
  // from the rewrite of a minute it touches until its row is rebuilt from
  // raw; until then, and while a minute it touches is stale, queries answer
  // the window from raw. Every window that holds readings is listed once here.
  `
  CREATE TABLE rollups_fleet_1m (
    metric     TEXT NOT NULL,
    window_end INTEGER NOT NULL,
    series     INTEGER NOT NULL,
    avg_sum REAL NOT NULL, avg_min REAL NOT NULL, avg_max REAL NOT NULL,
    min_sum REAL NOT NULL, min_min REAL NOT NULL, min_max REAL NOT NULL,
    max_sum REAL NOT NULL, max_min REAL NOT NULL, max_max REAL NOT NULL,
    sum_sum REAL NOT NULL, sum_min REAL NOT NULL, sum_max REAL NOT NULL,
    count_sum REAL NOT NULL, count_min REAL NOT NULL, count_max REAL NOT NULL,
    PRIMARY KEY (metric, window_end)
  ) WITHOUT ROWID;
  CREATE INDEX rollups_fleet_1m_window ON rollups_fleet_1m (window_end);
  CREATE TABLE rollups_fleet_1m_stale (
    window_end INTEGER NOT NULL,
    metric     TEXT NOT NULL,
    PRIMARY KEY (window_end, metric)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO rollups_fleet_1m_stale (window_end, metric)
    SELECT DISTINCT (r.ts + 59999) / 60000 * 60000, s.metric FROM readings r JOIN series s ON s.id = r.series_id;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface MigrationOutcome {
  from: number;
  to: number;
}

/**
 * Runs the missing steps, each in its own transaction together with its
 * user_version bump, so a crash mid-way leaves a consistent older version.
 * Throws a RangeError for a database written by a newer gateway.
 */
export function migrate(db: Database): MigrationOutcome {
  const from = readUserVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new RangeError(`schema version ${from} is newer than this gateway's ${SCHEMA_VERSION}`);
  }
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v]!;
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return { from, to: SCHEMA_VERSION };
}

export function readUserVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}
