// The dashboard in headless Chromium (Debian's chromium package, driven by
// playwright-core) against the real HTTP server and an in-memory query service.
// Chromium missing is a failure, not a skip: .ci/run installs it.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpServerWith, zeroTotals } from '../http/http-fixture.js';
import { createFakeQueryService } from '../query/fake-query-service.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const NOW = Date.now();
const START = NOW - 50 * 60_000;

function dataset() {
  const q = createFakeQueryService();
  for (let i = 0; i < 100; i++) {
    const ts = START + i * 30_000;
    q.add({ deviceId: 'pi-1', metric: 'temp', ts, value: 21 + Math.sin(i / 8) * 2 + (i % 3) * 0.3 });
    q.add({ deviceId: 'pi-1', metric: 'hum', ts, value: 40 + (i % 7) });
    q.add({ deviceId: 'pi-2', metric: 'temp', ts, value: 70 - i * 0.2 + (i % 5) });
  }
  q.addAnomaly({
    deviceId: 'pi-2',
    metric: 'temp',
    ts: NOW - 5 * 60_000,
    value: 140,
    score: 9.2,
    expectedLow: 50,
    expectedHigh: 80,
    state: 'raised',
  });
  return q;
}

/** The page's canvas, typed here because the project's tsconfig has no DOM lib. */
interface CanvasLike {
  width: number;
  height: number;
  toDataURL(): string;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}
const canvasImage = (page: Page) =>
  page.$eval('#chart canvas', (c) => (c as unknown as CanvasLike).toDataURL());

/** Pixels drawn in the avg series' colour (#2563eb): the line is there only if data was plotted. */
function avgLinePixels(page: Page): Promise<number> {
  return page.$eval('#chart canvas', (canvas) => {
    const c = canvas as unknown as CanvasLike;
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (
        Math.abs(data[i]! - 37) < 12 &&
        Math.abs(data[i + 1]! - 99) < 12 &&
        Math.abs(data[i + 2]! - 235) < 12 &&
        data[i + 3]! > 200
      )
        n++;
    }
    return n;
  });
}

let browser: Browser;
let app: ReturnType<typeof httpServerWith>;
let base: string;
let stored = 0;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  app = httpServerWith({
    query: dataset(),
    connectedClients: () => 3,
    // Each poll sees 500 more readings stored, so the page has a rate to show.
    totals: () => {
      stored += 500;
      return { ...zeroTotals(), readingsStored: stored, rejected: 2 };
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('dashboard', () => {
  it('loads from the gateway alone, draws the series and switches device', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    const foreign: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(base)) foreign.push(req.url());
    });
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`${res.status()} ${res.url()}`);
    });

    await page.goto(base);
    await page.waitForSelector(
      '#chart[data-state="ready"][data-device="pi-1"][data-metric="hum"], #chart[data-state="ready"][data-device="pi-1"][data-metric="temp"]',
    );
    expect(
      await page.$$eval('#device option', (o) => o.map((x) => (x as unknown as { value: string }).value)),
    ).toEqual(['pi-1', 'pi-2', '*']);
    await page.selectOption('#metric', 'temp');
    await page.waitForSelector('#chart[data-state="ready"][data-metric="temp"]');
    expect(await avgLinePixels(page)).toBeGreaterThan(200);
    const before = {
      info: await page.textContent('#chart-info'),
      image: await canvasImage(page),
    };
    expect(before.info).toMatch(/tier 1m|1m tier/);

    await page.selectOption('#device', 'pi-2');
    await page.waitForSelector('#chart[data-state="ready"][data-device="pi-2"]');
    const after = {
      info: await page.textContent('#chart-info'),
      image: await canvasImage(page),
    };
    expect(after.info).not.toBe(before.info);
    expect(after.image).not.toBe(before.image);
    expect(await avgLinePixels(page)).toBeGreaterThan(200);

    // The live cards: connected clients at once, a rate after the second poll.
    await page.locator('#ingest-rate', { hasText: /\d/ }).waitFor();
    expect(await page.textContent('#connected')).toBe('3');
    expect(Number((await page.textContent('#ingest-rate'))!.replace(/[^\d.]/g, ''))).toBeGreaterThan(0);

    const anomalies = await page.$$eval('#anomalies tbody tr', (rows) => rows.map((r) => r.textContent));
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toContain('pi-2');
    expect(anomalies[0]).toContain('raised');

    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});

describe('dashboard behind the API token', () => {
  it('asks for the token on 401, then sends it and draws', async () => {
    const guarded = httpServerWith({ query: dataset(), apiToken: 's3cret-token' });
    await guarded.listen({ host: '127.0.0.1', port: 0 });
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(guarded.server.address() as { port: number }).port}`);
      await page.locator('#token-form').waitFor({ state: 'visible' });
      expect(await page.getAttribute('#chart', 'data-state')).toBe('empty');
      await page.fill('#token', 's3cret-token');
      await page.click('#token-form button');
      await page.waitForSelector('#chart[data-state="ready"][data-device="pi-1"]');
      expect(await page.isVisible('#token-form')).toBe(false);
      expect(await avgLinePixels(page)).toBeGreaterThan(200);
    } finally {
      await page.close();
      await guarded.close();
    }
  });
});
