// Headless Chromium for the dashboard tests: Debian's chromium package driven
// by playwright-core. Chromium missing is a failure, not a skip: .ci/run installs it.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

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

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
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

export const canvasImage = (page: Page) =>
  page.$eval('#chart canvas', (c) => (c as unknown as CanvasLike).toDataURL());

/** Pixels of the chart drawn in one colour: a series is there only if its data was plotted. */
function pixelsOf(page: Page, [r, g, b]: readonly [number, number, number]): Promise<number> {
  return page.$eval(
    '#chart canvas',
    (canvas, rgb) => {
      const c = canvas as unknown as CanvasLike;
      const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (
          Math.abs(data[i]! - rgb[0]) < 12 &&
          Math.abs(data[i + 1]! - rgb[1]) < 12 &&
          Math.abs(data[i + 2]! - rgb[2]) < 12 &&
          data[i + 3]! > 200
        )
          n++;
      }
      return n;
    },
    [r, g, b] as const,
  );
}

/** the avg line, #2563eb */
export const avgLinePixels = (page: Page) => pixelsOf(page, [37, 99, 235]);
/** the partial bucket's ring, #9333ea (gateway/dashboard/chart.js PARTIAL_COLOUR) */
export const partialMarkerPixels = (page: Page) => pixelsOf(page, [147, 51, 234]);

export const optionValues = (page: Page, select: string) =>
  page.$$eval(`${select} option`, (o) => o.map((x) => (x as unknown as { value: string }).value));

/** Page errors, console errors and HTTP errors, for a test to expect none. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`${res.status()} ${res.url()}`);
  });
  return problems;
}
