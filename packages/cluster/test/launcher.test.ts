// The npm start launcher (dist/bin/start.js) as a child process, with the stand-in commands.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const START = fileURLToPath(new URL('../bin/start.js', import.meta.url));
const FAKE_SCHEDULER = fileURLToPath(new URL('../src/testing/fake_scheduler.js', import.meta.url));
const FAKE_SERVER = fileURLToPath(new URL('../src/testing/fake_server.js', import.meta.url));

interface Launched {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  waitFor: (re: RegExp, ms?: number) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function launch(dataDir: string, env: Record<string, string> = {}, extra: string[] = []): Launched {
  const child = spawn(
    process.execPath,
    [
      START,
      '--data-dir',
      dataDir,
      '--base-port',
      '0',
      '--scheduler-port',
      '0',
      '--scheduler-bin',
      FAKE_SCHEDULER,
      '--server-bin',
      FAKE_SERVER,
      ...extra,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      if (!w.re.test(out + err)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    check();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  return {
    child,
    out: () => out,
    err: () => err,
    exit,
    waitFor: (re, ms = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms; stdout:\n${out}\nstderr:\n${err}`)), ms);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
        check();
      }),
  };
}

test('launcher: prints addresses, logs, the try line and "cluster ready"; Ctrl-C stops every child and exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-launcher-'));
  const l = launch(dir);
  try {
    await l.waitFor(/cluster ready/);
    const out = l.out();
    assert.match(out, /scheduler ready at 127\.0\.0\.1:\d+ \(cluster 4242\)/);
    assert.match(
      out,
      /store1 \(id 1\)\s+127\.0\.0\.1:\d+\s+status http:\/\/127\.0\.0\.1:\d+\/status\s+metrics http:\/\/127\.0\.0\.1:\d+\/metrics/,
    );
    assert.match(out, /store3 \(id 3\)/);
    assert.match(out, /logs: .*logs\/ \(scheduler\.log, store1\.log/);
    assert.match(out, /try: npx tinykv put hello world \/ npx tinykv get hello/);
    assert.match(out, /cluster ready: 1 region, 3 replicas each, leaders store1: 1, store2: 0, store3: 0/);
    l.child.kill('SIGINT');
    const e = await l.exit;
    assert.deepEqual(e, { code: 0, signal: null }, l.err());
    assert.match(l.out(), /stopping the cluster[\s\S]*stopped/);
  } finally {
    l.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: a child exiting unexpectedly is reported with its log tail, the rest are stopped, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-launcher-'));
  const l = launch(dir, { FAKE_CRASH: 'store2:1500' });
  try {
    const e = await l.exit;
    assert.equal(e.code, 1, l.out() + l.err());
    assert.match(l.err(), /store2 \(pid \d+\) exited unexpectedly \(code 3\)/);
    assert.match(l.err(), /boom: simulated crash/);
    assert.match(l.out(), /store2 failed: stopping the cluster[\s\S]*stopped/);
  } finally {
    l.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: a store failing at start: reported, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-launcher-'));
  const l = launch(dir, { FAKE_FAIL_START: 'store1' });
  try {
    const e = await l.exit;
    assert.equal(e.code, 1);
    assert.match(l.err(), /start failed: store1 exited \(code 1\) before it was ready/);
    assert.match(l.err(), /cannot open the data directory/);
  } finally {
    l.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: bad flags exit 2 with a message', async () => {
  const l = launch('/nonexistent', {}, ['--stores', 'x']);
  const e = await l.exit;
  assert.equal(e.code, 2);
  assert.match(l.err(), /--stores must be an integer/);
});
