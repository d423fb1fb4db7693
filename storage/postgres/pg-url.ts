// Which backend a `--db` value names: a postgres:// or postgresql:// URL is
// PostgreSQL, anything else a SQLite file path.

const PG_URL = /^postgres(?:ql)?:\/\//i;

export function isPostgresUrl(db: string): boolean {
  return PG_URL.test(db);
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
