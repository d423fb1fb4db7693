// The "gateway ready" line as `npm start` prints it: the ports tests and
// scripts parse, and the dashboard's address for a person to open.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dashboardUrl } from '../../gateway/http/dashboard-url.js';

const MAIN = fileURLToPath(new URL('../../build/gateway/main.js', import.meta.url));

describe('dashboardUrl', () => {
  it('names the bound address, bracketing IPv6, and localhost for a wildcard bind', () => {
    expect(dashboardUrl({ host: '127.0.0.1', port: 8080 })).toBe('http://127.0.0.1:8080/');
    expect(dashboardUrl({ host: '::1', port: 8080 })).toBe('http://[::1]:8080/');
    expect(dashboardUrl({ host: '0.0.0.0', port: 80 })).toBe('http://localhost:80/');
    expect(dashboardUrl({ host: '::', port: 80 })).toBe('http://localhost:80/');
  });
});

describe('npm start', () => {
  it('logs the dashboard address in the ready line, and the dashboard answers there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-ready-'));
    const child = spawn(
      process.execPath,
      [MAIN, '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0', '--db', join(dir, 'gateway.db')],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GATEWAY_LOG_FORMAT: 'json' } },
    );
    try {
      let ready: Record<string, unknown> | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === 'gateway ready') {
          ready = entry;
          break;
        }
      }
      expect(ready).toMatchObject({
        host: '127.0.0.1',
        mqttPort: expect.any(Number),
        httpPort: expect.any(Number),
      });
      expect(ready?.dashboard).toBe(`http://127.0.0.1:${ready?.httpPort}/`);
      const page = await fetch(String(ready?.dashboard));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
