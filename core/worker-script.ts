import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** tsconfig's outDir: where a TypeScript source finds the compiled worker. */
const OUT_DIR = 'build';

/**
 * The JS file a Worker should load, for a caller running either compiled or
 * from source (vitest runs the .ts files, but a Worker needs JS).
 *
 * - Compiled caller (`.js`): the nearest ancestor D of the caller's directory
 *   with D/<relative path> existing — the compiled tree, wherever it was copied.
 * - Source caller: `<project root>/build/<relative path>`, the project root being
 *   the nearest ancestor holding package.json; it exists once `npm run build` ran.
 *
 * `relativeJsPathFromProjectRoot` is e.g. 'storage/sqlite/writer-thread.js'.
 * When nothing is found the expected location is returned anyway, so the
 * Worker's own error names the missing file.
 */
export function resolveWorkerScript(importMetaUrl: string, relativeJsPathFromProjectRoot: string): URL {
  const callerDir = dirname(fileURLToPath(importMetaUrl));
  if (importMetaUrl.endsWith('.js') || importMetaUrl.endsWith('.mjs')) {
    const root = findAncestor(callerDir, (dir) => existsSync(join(dir, relativeJsPathFromProjectRoot)));
    if (root !== undefined) return pathToFileURL(join(root, relativeJsPathFromProjectRoot));
  }
  const projectRoot = findAncestor(callerDir, (dir) => existsSync(join(dir, 'package.json'))) ?? callerDir;
  return pathToFileURL(join(projectRoot, OUT_DIR, relativeJsPathFromProjectRoot));
}

function findAncestor(start: string, accept: (dir: string) => boolean): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (accept(dir)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * V8 limits for the gateway's own worker threads (writer, analytics, queries).
 * Their young generation may otherwise grow to 32 MB each under steady
 * allocation, idle memory counted in RSS; 8 MB keeps scavenges cheap and
 * frequent. The old generation is left unbounded: a cap there would kill the
 * writer thread under a big re-aggregation instead of slowing it.
 */
export const WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 8 } as const;
