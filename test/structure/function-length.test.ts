// No function body in the product source is longer than MAX_BODY_LINES: a
// longer one does several things, and a large literal belongs in data (a
// const the function maps over), not in a body. Read with TypeScript's own
// parser, so functions, arrows, methods, accessors and constructors all count.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const PRODUCT = ['core', 'cli', 'gateway', 'devices', 'pipelines', 'storage', 'simulators'];
const MAX_BODY_LINES = 150;

interface LongBody {
  where: string;
  name: string;
  lines: number;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every function-like body in `text` longer than `max` lines, counting its braces' lines. */
function longBodies(file: string, text: string, max: number): LongBody[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const found: LongBody[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const body = node.body as ts.Node;
      const lines = lineOf(body.getEnd()) - lineOf(body.getStart(source)) + 1;
      if (lines > max) {
        const name = node.name?.getText(source) ?? ts.SyntaxKind[node.kind];
        found.push({ where: `${file}:${lineOf(body.getStart(source)) + 1}`, name, lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('function length', () => {
  it(`no product function body is over ${MAX_BODY_LINES} lines`, () => {
    const long = PRODUCT.flatMap((dir) => sources(join(ROOT, dir))).flatMap((path) =>
      longBodies(relative(ROOT, path).split(sep).join('/'), readFileSync(path, 'utf8'), MAX_BODY_LINES),
    );
    expect(long).toEqual([]);
  });

  it('finds a long body of each kind, and nests', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  step(${i});`).join('\n');
    const fixture = [
      `export function plain() {\n${body(10)}\n}`,
      `const arrow = () => {\n${body(10)}\n};`,
      `class Thing {\n  method() {\n${body(10)}\n  }\n}`,
      `function outer() {\n  const inner = function () {\n${body(10)}\n  };\n}`,
    ].join('\n');
    const names = longBodies('fixture.ts', fixture, 10).map((b) => `${b.name}:${b.lines}`);
    expect(names).toEqual(['plain:12', 'ArrowFunction:12', 'method:12', 'outer:14', 'FunctionExpression:12']);
    expect(longBodies('fixture.ts', fixture, 14).map((b) => b.name)).toEqual([]);
  });
});
