// The dashboard in headless Chromium (test/dashboard/chromium.ts) against the
// real HTTP server and an in-memory query service.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { httpServerWith, zeroTotals } from '../http/http-fixture.js';
import { createFakeQueryService } from '../query/fake-query-service.js';
import {
  avgLinePixels,
  canvasImage,
  launchChromium,
  optionValues,
  partialMarkerPixels,
  watchProblems,
} from './chromium.js';

/** The server's clock, pinned half-way through a minute: that minute's bucket is the partial one. */
const NOW = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
const START = NOW - 50 * 60_000;

function dataset() {
  const q = createFakeQueryService();
  for (let i = 0; i < 100; i++) {
    const ts = START + i * 30_000;
    q.add({ deviceId: 'pi-1', metric: 'temp', ts, value: 21 + Math.sin(i / 8) * 2 + (i % 3) * 0.3 });
    q.add({ deviceId: 'pi-1', metric: 'hum', ts, value: 40 + (i % 7) });
    q.add({ deviceId: 'pi-2', metric: 'temp', ts, value: 70 - i * 0.2 + (i % 5) });
  }
  // pi-1 has the newest reading; attic, first by name, only readings of three hours ago.
  q.add({ deviceId: 'pi-1', metric: 'temp', ts: NOW - 5_000, value: 22 });
  for (let i = 0; i < 3; i++)
    q.add({ deviceId: 'attic', metric: 'pressure', ts: NOW - 3 * 3_600_000 + i * 10_000, value: 1000 + i });
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

let browser: Browser;
let app: ReturnType<typeof httpServerWith>;
let base: string;
let stored = 0;

beforeAll(async () => {
  app = httpServerWith({
    query: dataset(),
    now: () => NOW,
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
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('dashboard', () => {
  it('loads from the gateway alone, draws the series and switches device', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watchProblems(page);
    const foreign: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(base)) foreign.push(req.url());
    });

    await page.goto(base);
    await page.waitForSelector(
      '#chart[data-state="ready"][data-device="pi-1"][data-metric="hum"], #chart[data-state="ready"][data-device="pi-1"][data-metric="temp"]',
    );
    // Not attic, first by name: its readings are three hours old.
    expect(await optionValues(page, '#device')).toEqual(['attic', 'pi-1', 'pi-2', '*']);
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

describe('dashboard answers', () => {
  it('offers the fleet every device\'s metrics, marks the partial bucket, says "1 bucket"', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    try {
      await page.goto(base);
      await page.waitForSelector('#chart[data-state="ready"][data-device="pi-1"]');
      await page.selectOption('#metric', 'temp');
      await page.waitForSelector('#chart[data-state="ready"][data-metric="temp"]');
      // The server's now is half-way through its minute: that bucket is still filling.
      expect(await page.getAttribute('#chart', 'data-partial')).toBe(String(NOW - 30_000));
      expect(await page.textContent('#chart-info')).toContain('the last bucket is partial');
      expect(await partialMarkerPixels(page)).toBeGreaterThan(20);
      expect(await page.textContent('#chart')).toContain('partial bucket');

      await page.selectOption('#device', 'attic');
      await page.waitForSelector('#chart[data-state="ready"][data-device="attic"]');
      expect(await optionValues(page, '#metric')).toEqual(['pressure']);
      await page.selectOption('#range', '-7d|1h');
      await page.waitForSelector('#chart[data-state="ready"][data-device="attic"][data-points="1"]');
      expect(await page.textContent('#chart-info')).toMatch(/^1 bucket of 1h from the 1h tier, 1 device ·/);
      expect(await page.getAttribute('#chart', 'data-partial')).toBe('');
      expect(await partialMarkerPixels(page)).toBe(0);

      // The fleet: the union of the metrics, not the first device's.
      await page.selectOption('#device', '*');
      await page.waitForSelector('#chart[data-state="ready"][data-device="*"]');
      expect(await optionValues(page, '#metric')).toEqual(['hum', 'pressure', 'temp']);
    } finally {
      await page.close();
    }
  });

  it('clears the old chart when a query fails, and draws again on the next answer', async () => {
    const q = dataset();
    const server = httpServerWith({ query: q, now: () => NOW });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(server.server.address() as { port: number }).port}`);
      await page.waitForSelector('#chart[data-state="ready"] canvas');
      // Nothing else in flight: the anomalies, the last of the first load, are in.
      await page.waitForSelector('#anomalies tbody tr');
      q.failNext(new GatewayError('GW_ERR_STORAGE_BUSY'));
      await page.selectOption('#range', '-6h|5m');
      await page.waitForSelector('#chart[data-state="error"]');
      expect(await page.$('#chart canvas')).toBeNull();
      expect(await page.textContent('#chart-info')).toContain('GW_ERR_STORAGE_BUSY');

      await page.selectOption('#range', '-1h|1m');
      await page.waitForSelector('#chart[data-state="ready"] canvas');
      expect(await avgLinePixels(page)).toBeGreaterThan(200);
    } finally {
      await page.close();
      await server.close();
    }
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
      // The refused query draws nothing.
      await page.waitForSelector('#chart[data-state="error"]');
      expect(await page.$('#chart canvas')).toBeNull();
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
