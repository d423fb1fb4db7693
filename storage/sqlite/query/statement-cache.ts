import type { Database, Statement } from 'better-sqlite3';

/** Prepares each SQL text once per connection: queries build a few shapes of statement again and again. */
export function statementCache(db: Database): (sql: string) => Statement {
  const statements = new Map<string, Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}
