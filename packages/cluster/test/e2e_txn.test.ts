// Transactions end to end with the real processes (tinykv-scheduler and three tinykv-server),
// driven by TxnClient: a counter incremented by concurrent read-modify-write transactions, a
// bank whose total holds while a store is killed and while the split checker splits the
// transactional data, and MVCC GC through the real scheduler's safe point.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TxnClient } from '@tskv/client';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN].filter((f) => !existsSync(f));
const skip = missing.length ? `not built yet: ${missing.join(', ')}` : false;
const TINYKV = fileURLToPath(new URL('../../../client/cli/tinykv.mjs', import.meta.url));
const str = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString() : null);

test('real cluster: transactions under a store kill and splits, and MVCC GC at the scheduler safe point', {
  skip,
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-e2e-txn-'));
  const config = join(dir, 'store.json');
  // Small regions so that the bank's versions split them; GC rounds every 500 ms.
  writeFileSync(config, JSON.stringify({ regionSplitSize: 24 * 1024, regionMaxSize: 36 * 1024, splitCheckTickMs: 500, gcIntervalMs: 500 }));
  const c = new ProcessCluster({ dataDir: dir, schedulerPort: 0, basePort: 0, stopTimeoutMs: 10_000, serverArgs: ['--config', config] });
  const unexpected: UnexpectedExit[] = [];
  c.on('unexpected-exit', (e) => unexpected.push(e));
  let client: TxnClient | null = null;
  try {
    await c.start();
    await c.waitUntilReady({ timeoutMs: 60_000 });
    client = await TxnClient.connect({ schedulerAddr: c.schedulerAddr, timeoutMs: 20_000 });
    const txc = client;

    // ---- a counter: 20 concurrent read-modify-write transactions, each retried on conflict ----
    await txc.runTxn(async (t) => t.put('counter', '0'));
    await Promise.all(
      Array.from({ length: 20 }, () =>
        txc.runTxn(
          async (t) => {
            const v = Number(str(await t.get('counter')));
            t.put('counter', String(v + 1));
          },
          { retries: 100 },
        ),
      ),
    );
    const t0 = await txc.begin();
    assert.equal(str(await t0.get('counter')), '20');
    await t0.rollback();

    // ---- a bank across a store kill and splits ----
    const N = 16;
    const acct = (i: number): string => `bank/${String(i).padStart(2, '0')}`;
    const pad = '.'.repeat(600);
    const parse = (b: Uint8Array | null): number => Number(str(b)!.split('|')[0]);
    await txc.runTxn(async (t) => {
      for (let i = 0; i < N; i++) t.put(acct(i), `100|${pad}`);
    });
    let stop = false;
    let transfers = 0;
    const sums: number[] = [];
    const worker = async (w: number): Promise<void> => {
      let n = 0;
      while (!stop) {
        n++;
        if (n % 4 === 0) {
          // A snapshot read of every account: one scan at the start ts.
          const t = await txc.begin();
          const pairs = await t.scan('bank/', 'bank0');
          await t.rollback();
          assert.equal(pairs.length, N);
          sums.push(pairs.reduce((s, p) => s + parse(p.value), 0));
          continue;
        }
        const a = (w * 5 + n) % N;
        const b = (a + 1 + (n % (N - 1))) % N;
        await txc.runTxn(
          async (t) => {
            const [va, vb] = await t.batchGet([acct(a), acct(b)]);
            t.put(acct(a), `${parse(va!) - 1}|${pad}`);
            t.put(acct(b), `${parse(vb!) + 1}|${pad}`);
          },
          { retries: 100 },
        );
        transfers++;
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await new Promise((r) => setTimeout(r, 3000));
    // Kill the leader of the bank's first key mid-workload; the client follows the new leader.
    const victim = c.addresses.stores[0]!.index;
    await c.kill(victim);
    await new Promise((r) => setTimeout(r, 4000));
    await c.restart(victim);
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await Promise.all(workers);
    assert.ok(transfers > 20, `${transfers} transfers`);
    assert.ok(sums.length > 5, `${sums.length} snapshot reads`);
    for (const s of sums) assert.equal(s, N * 100, 'every snapshot read sums to the total');
    const pd = await c.pd();
    try {
      const regions = await pd.scanRegions(Buffer.from('bank/'), Buffer.from('bank0'));
      assert.ok(regions.length > 1, `the bank's data split (${regions.length} regions)`);
      for (const r of regions.slice(1))
        assert.match(Buffer.from(r.region.startKey ?? []).toString(), /^bank\/\d\d$/, 'split keys are user keys');

      // ---- MVCC GC at the scheduler's safe point ----
      const sp = await txc.currentTs();
      const before = await txc.begin();
      const atSp = (await before.scan('bank/', 'bank0')).map((p) => parse(p.value));
      await before.rollback();
      // Through the CLI, as an operator does: set it, read it back, try to move it back.
      const cli = (...args: string[]): { safePoint: string } =>
        JSON.parse(
          execFileSync(process.execPath, [TINYKV, '--scheduler', c.schedulerAddr, '--json', 'txn', 'safepoint', ...args]).toString(),
        );
      assert.equal(cli('--set', String(sp)).safePoint, String(sp));
      assert.equal(cli().safePoint, String(sp));
      assert.equal(cli('--set', '1').safePoint, String(sp), 'the safe point never moves back');
      assert.equal(await pd.getGCSafePoint(), sp);
      // The stores' GC rounds run every 500 ms: wait until they collected the old versions.
      const deleted = async (): Promise<number> => {
        let n = 0;
        for (const s of c.addresses.stores) {
          const text = await fetch(`http://${s.statusAddr}/metrics`).then((r) => r.text());
          n += Number(/^tskv_gc_versions_deleted (\d+)/m.exec(text)?.[1] ?? 0);
        }
        return n;
      };
      const deadline = Date.now() + 30_000;
      while ((await deleted()) < transfers) {
        assert.ok(Date.now() < deadline, `GC deleted ${await deleted()} versions, want at least ${transfers}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const after = await txc.begin();
      assert.deepEqual(
        (await after.scan('bank/', 'bank0')).map((p) => parse(p.value)),
        atSp,
        'reads after the safe point are unchanged',
      );
      await after.rollback();
    } finally {
      pd.close();
    }
    assert.deepEqual(
      unexpected.map((e) => `${e.info.name} exited: ${e.code ?? e.signal}`),
      [],
    );
  } finally {
    client?.close();
    await c.stop().catch(() => c.killAllNow());
    rmSync(dir, { recursive: true, force: true });
  }
});
