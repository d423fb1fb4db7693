// The rooms' import rules (docs/architecture.md): imports run downward only.
// Every relative import of every .ts file in the product rooms and bench/ is
// read with TypeScript's own pre-processor (static `import … from`, `export …
// from`, side-effect `import '…'` and dynamic `import('…')`; comments and
// strings do not count), and each must land in a room its own room may use.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

type Room =
  | 'core'
  | 'storage'
  | 'storage/sqlite'
  | 'storage/postgres'
  | 'pipelines'
  | 'devices'
  | 'simulators'
  | 'gateway'
  | 'cli'
  | 'bench'
  | 'test';

const STORAGE: readonly Room[] = ['storage', 'storage/sqlite', 'storage/postgres'];
const PRODUCT: readonly Room[] = ['core', ...STORAGE, 'pipelines', 'devices', 'simulators', 'gateway'];

/** The rooms each room may import besides itself. Anything else is a wrong-way import. */
const MAY_IMPORT: Readonly<Record<Exclude<Room, 'test'>, readonly Room[]>> = {
  core: [],
  // The shared storage code; only SELECTOR may reach into a backend (see below).
  storage: ['core', 'storage/sqlite', 'storage/postgres'],
  // Backends are siblings: they share code through storage/, never through each other.
  'storage/sqlite': ['core', 'storage'],
  'storage/postgres': ['core', 'storage'],
  pipelines: ['core', ...STORAGE],
  devices: ['core', ...STORAGE],
  simulators: ['core', ...STORAGE],
  gateway: ['core', ...STORAGE, 'pipelines', 'devices', 'simulators'],
  cli: [...PRODUCT, 'cli', 'bench'],
  bench: [...PRODUCT, 'cli'],
};

/** The one shared storage file that picks a backend by --db; no backend may import it. */
const SELECTOR = 'storage/open-storage.ts';

const SCANNED: readonly Room[] = [...PRODUCT, 'cli', 'bench'];

interface Import {
  from: string;
  to: string;
  specifier: string;
}

function roomOf(path: string): Room | undefined {
  const [first, second] = path.split('/');
  if (first === 'storage' && (second === 'sqlite' || second === 'postgres')) return `storage/${second}`;
  const rooms: readonly string[] = [...SCANNED, 'test'];
  return first !== undefined && rooms.includes(first) ? (first as Room) : undefined;
}

/** Relative imports of one source, resolved to project paths (`.js` specifiers name `.ts` sources). */
function relativeImports(file: string, source: string): Import[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((specifier) => specifier.startsWith('./') || specifier.startsWith('../'))
    .map((specifier) => {
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier))
        .split(sep)
        .join('/');
      return { from: file, to: target.replace(/\.js$/, '.ts'), specifier };
    });
}

/** Why an import is wrong, or undefined when it runs the right way. */
function wrongWay(imp: Import): string | undefined {
  const from = roomOf(imp.from);
  const to = roomOf(imp.to);
  if (from === undefined || from === 'test') return undefined;
  if (to === undefined) return `${from} → ${imp.to}: outside every room`;
  if (to === from) return undefined;
  if (to === 'storage' && from.startsWith('storage/') && imp.to === SELECTOR)
    return `${from} → ${SELECTOR}: a backend would reach its sibling through the selector`;
  if (from === 'storage' && to.startsWith('storage/') && imp.from !== SELECTOR)
    return `storage → ${to}: only ${SELECTOR} may pick a backend`;
  return MAY_IMPORT[from].includes(to) ? undefined : `${from} → ${to}`;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split(sep).join('/'));
}

const TOP_LEVEL = ['core', 'storage', 'pipelines', 'devices', 'simulators', 'gateway', 'cli', 'bench'];
const IMPORTS = TOP_LEVEL.flatMap(tsFiles).flatMap((file) =>
  relativeImports(file, readFileSync(join(ROOT, file), 'utf8')),
);

function violations(room: Room): string[] {
  return IMPORTS.filter((imp) => roomOf(imp.from) === room).flatMap((imp) => {
    const why = wrongWay(imp);
    return why === undefined ? [] : [`${imp.from} imports '${imp.specifier}' (${why})`];
  });
}

describe('import rules (docs/architecture.md)', () => {
  it('reads the imports it judges', () => {
    // A parser that found nothing would pass every rule below.
    expect(IMPORTS).toContainEqual(
      expect.objectContaining({ from: 'gateway/steps/pipeline.ts', to: 'pipelines/ingest-pipeline.ts' }),
    );
    const sample = [
      "import type { A } from '../storage/port.js';",
      "export { b } from '../gateway/gateway.js';",
      "const c = await import('../cli/query-cli.js');",
      "// import '../test/support/load.js'",
      'const text = "from \'../bench/run.js\'";',
    ].join('\n');
    expect(relativeImports('pipelines/x.ts', sample).map(wrongWay)).toEqual([
      undefined,
      'pipelines → gateway',
      'pipelines → cli',
    ]);
  });

  it.each(SCANNED)('%s imports only the rooms below it', (room) => {
    expect(violations(room)).toEqual([]);
  });
});
