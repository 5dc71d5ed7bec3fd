/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The scheduler's web dashboard in a real browser: headless Chromium (the system's, driven by
// puppeteer-core) against a real cluster. Writes go to two key ranges, a region is split by the
// admin API, and a store is killed; the page must show the new boundary, the hot range and the
// store down. TSKV_DASHBOARD_SCREENSHOT=<png> keeps a screenshot (relative to the repository root).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Page } from 'puppeteer-core';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function findChromium(): string | null {
  const env = process.env.CHROMIUM_PATH;
  if (env) return existsSync(env) ? env : null;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const p = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (p) return p;
    } catch {
      // not on PATH: try the next name
    }
  }
  return null;
}

const chromium = findChromium();
const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN].filter((f) => !existsSync(f));
const skip = missing.length
  ? `not built yet: ${missing.join(', ')}`
  : chromium
    ? false
    : 'no chromium found (apt-get install chromium, or set CHROMIUM_PATH)';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls the page until `fn` (run in the page) returns a truthy value; fails naming `what`. */
async function waitInPage<T>(page: Page, what: string, fn: () => T, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await page.evaluate(fn);
    if (v) return v as T;
    if (Date.now() > deadline) {
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as a person would read it, explains a failure best.
      const text = await page.evaluate(() => document.body.innerText);
      throw new Error(`the dashboard did not show ${what} within ${timeoutMs} ms; it shows:\n${text.slice(0, 3000)}`);
    }
    await sleep(250);
  }
}

test('dashboard in headless Chromium: a new region boundary, the hot range, a store down', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-e2e-dashboard-'));
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  // A store is shown down once it misses heartbeats for storeDisconnectMs.
  writeFileSync(join(configDir, 'scheduler.json'), JSON.stringify({ storeDisconnectMs: 3000 }));
  writeFileSync(join(configDir, 'store.json'), JSON.stringify({ schedulerHeartbeatTickMs: 500 }));
  const c = new ProcessCluster({ dataDir: join(dir, 'data'), configDir, stores: 3, schedulerPort: 0, basePort: 0, stopTimeoutMs: 10_000 });
  const browser = await puppeteer.launch({
    executablePath: chromium as string,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  let writing = true;
  let writer: Promise<void> = Promise.resolve();
  try {
    await c.start();
    await c.waitUntilReady({ timeoutMs: 60_000 });
    const client = await c.client({ timeoutMs: 10_000 });
    for (let i = 0; i < 20; i++) await client.put(`b/${i}`, `v${i}`);

    // Split at "m" through the admin API, as `tinykv region split m` does.
    const base = `http://${c.addresses.schedulerStatus}`;
    const split = await fetch(`${base}/admin/operators`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'split-region', key: Buffer.from('m').toString('hex') }),
    });
    assert.equal(split.status, 200, await split.text());

    // Two key ranges: a trickle under "b/", a steady stream under "x/" (the hot one).
    let n = 0;
    writer = (async () => {
      while (writing) {
        await Promise.all(Array.from({ length: 20 }, (_, j) => client.put(`x/${n}-${j}`, 'y'.repeat(100)).catch(() => undefined)));
        if (n % 10 === 0) await client.put(`b/${n}`, 'z').catch(() => undefined);
        n++;
      }
    })();

    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1100 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const res = await page.goto(`${base}/`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);

    const boundary = await waitInPage(page, 'a region starting at "m" in the key-space bar', () => {
      const e = document.querySelector('#keyspace .region[data-start="\\"m\\""]');
      return e ? e.getAttribute('data-region-id') : null;
    });
    const hot = await waitInPage(page, 'the region from "m" at the top of the hot regions', () => {
      const row = document.querySelector('#hot tbody tr[data-region-id]');
      const range = row?.querySelector('td.range')?.textContent ?? '';
      return range.startsWith('["m"') ? row!.getAttribute('data-region-id') : null;
    });
    assert.equal(hot, boundary, 'the hot region is the one right of the new boundary');
    await waitInPage(page, 'a split event', () =>
      [...document.querySelectorAll('#events li')].some((li) => /split/.test(li.textContent ?? '')),
    );

    // The writers go on (a store down leaves a quorum), so the screenshot shows traffic too.
    const victim = c.store(3).storeId;
    assert.ok(victim, 'store 3 registered');
    await c.kill(3);
    await waitInPage(page, `store ${victim} marked down`, () => {
      const cells = [...document.querySelectorAll('#stores tbody tr')].map(
        (tr) => [tr.getAttribute('data-store-id'), tr.querySelector('td.health')?.textContent] as const,
      );
      const down = cells.filter(([, h]) => h === 'down').map(([id]) => id);
      return down.length > 0 ? down : null;
    }).then((down) => assert.deepEqual(down, [String(victim)]));
    await waitInPage(page, 'a store-down event', () => [...document.querySelectorAll('#events li.store-down')].length > 0);
    assert.deepEqual(errors, [], 'no script errors in the page');

    const shot = process.env.TSKV_DASHBOARD_SCREENSHOT;
    if (shot) {
      const file = isAbsolute(shot) ? shot : join(ROOT, shot);
      mkdirSync(dirname(file), { recursive: true });
      await page.screenshot({ path: file as `${string}.png`, fullPage: true });
      console.log(`  screenshot: ${file}`);
    }
  } catch (e) {
    for (const p of c.processes()) console.error(`--- ${p.name}\n${c.logTail(p.name, 8)}`);
    throw e;
  } finally {
    writing = false;
    await writer;
    await browser.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
