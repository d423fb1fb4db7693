// GET / : the dashboard, and uPlot from node_modules, all served locally (no CDN).
// The page's files are plain JS/CSS that tsc does not copy, so they are found in
// the source tree whether this module runs from source or from build/.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

export const DASHBOARD_ENTRY = join('gateway', 'dashboard', 'index.html');

export function dashboardDir(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, DASHBOARD_ENTRY))) return dirname(join(dir, DASHBOARD_ENTRY));
    if (dirname(dir) === dir) throw new Error(`${DASHBOARD_ENTRY} not found above ${from}`);
  }
}

export function uplotDistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
}

export const dashboardRoutes: FastifyPluginAsync = async (app: FastifyInstance) => {
  // wildcard: false registers one route per file present at start, so nothing
  // else under / (the API, /metrics) can be shadowed by a file lookup.
  await app.register(fastifyStatic, {
    root: dashboardDir(),
    prefix: '/',
    wildcard: false,
    index: 'index.html',
  });
  await app.register(fastifyStatic, {
    root: uplotDistDir(),
    prefix: '/vendor/uplot/',
    wildcard: false,
    decorateReply: false,
  });
};
