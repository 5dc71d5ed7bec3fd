// The admin verbs of tinykv against real processes (tinykv-scheduler and tinykv-server on free
// ports): every verb once and the main refusals. Schedulers paused first so that only the verbs
// move things: a split makes a boundary (the data still reads back), transfer-leader moves a
// leader, remove-peer / add-peer change the peer set while the replica-checker is paused (and it
// acts again once resumed), `operators` lists what ran, and `store offline` drains a store of a
// four-store cluster until it is a tombstone.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RegionInfo } from '@tskv/client';
import { skip as notBuilt, waitFor, withCluster } from './e2e_scale_helpers.js';

const TINYKV = fileURLToPath(new URL('../../../client/cli/tinykv.mjs', import.meta.url));
const skip = notBuilt || (existsSync(TINYKV) ? false : `not built yet: ${TINYKV}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

type JsonRegion = Omit<RegionInfo, 'startKey' | 'endKey'> & { startKey: string; endKey: string };

const hex = (s: string): string => Buffer.from(s).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('tinykv admin verbs on a real cluster: split, transfer-leader, add/remove-peer, pauses, operators, store offline', {
  skip,
  timeout: 170_000,
}, async () => {
  await withCluster('admin-cli', { scheduler: { scheduleIntervalMs: 200 }, store: { schedulerHeartbeatTickMs: 200 } }, async ({ c }) => {
    await c.waitUntilReady({ timeoutMs: 90_000 });
    const flags = ['--scheduler', c.addresses.scheduler, '--scheduler-status', c.addresses.schedulerStatus];
    const tinykv = (...args: string[]): Promise<Run> =>
      new Promise((resolve) =>
        execFile(
          process.execPath,
          [TINYKV, ...flags, ...args],
          { env: { ...process.env, TINYKV_SCHEDULER: '', TINYKV_SCHEDULER_STATUS: '' }, timeout: 90_000 },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const ok = async (...args: string[]): Promise<Run> => {
      const r = await tinykv(...args);
      assert.equal(r.code, 0, `tinykv ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      return r;
    };
    const refused = async (pattern: RegExp, ...args: string[]): Promise<void> => {
      const r = await tinykv(...args);
      assert.equal(r.code, 1, `tinykv ${args.join(' ')} should fail: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    };
    const regions = async (): Promise<JsonRegion[]> => JSON.parse((await ok('--json', 'regions')).stdout) as JsonRegion[];
    const regionOf = async (key: string): Promise<JsonRegion> => {
      const k = hex(key);
      const r = (await regions()).find((x) => x.startKey <= k && (x.endKey === '' || k < x.endKey));
      assert.ok(r, `a region holds ${key}`);
      return r;
    };

    // Only the verbs move things from here on.
    for (const s of ['balance-leader', 'balance-region']) assert.equal((await ok('scheduler', 'pause', s)).stdout, `${s}: paused\n`);
    assert.deepEqual(JSON.parse((await ok('--json', 'scheduler', 'show')).stdout), [
      { name: 'balance-leader', paused: true },
      { name: 'balance-region', paused: true },
      { name: 'replica-checker', paused: false },
    ]);
    await refused(
      /^tinykv: unknown scheduler "hot-region": expected one of balance-leader, balance-region, replica-checker$/m,
      'scheduler',
      'pause',
      'hot-region',
    );

    const client = await c.client({ timeoutMs: 20_000 });
    try {
      for (const k of ['a', 'f', 'm', 'q', 'z']) await client.put(k, `v-${k}`);

      // ---- split ----
      const split = await ok('region', 'split', 'm');
      assert.match(split.stderr, /^region \d+: split at "m": step 1\/1 \(split at "m"\) \.\.\./m);
      assert.match(split.stderr, /^region \d+: split at "m": done in \d+\.\d s$/m);
      assert.match(split.stdout, /^region \d+ \[-inf, "m"\) epoch \d+\/\d+: peers .*\nregion \d+ \["m", \+inf\) epoch/);
      const rs = await regions();
      assert.deepEqual(
        rs.map((r) => [r.startKey, r.endKey]),
        [
          ['', hex('m')],
          [hex('m'), ''],
        ],
      );
      await refused(/^tinykv: "m" is already a region boundary \(region \d+ starts there\)$/m, 'region', 'split', 'm');
      const js = JSON.parse((await ok('--json', 'region', 'split', 'f')).stdout) as {
        ok: boolean;
        operator: { state: string };
        regions: JsonRegion[];
      };
      assert.equal(js.ok, true);
      assert.equal(js.operator.state, 'finished');
      assert.deepEqual(
        js.regions.map((r) => r.startKey),
        ['', hex('f')],
      );
      for (const k of ['a', 'f', 'm', 'q', 'z']) assert.equal(Buffer.from((await client.get(k))!).toString(), `v-${k}`);

      // ---- transfer-leader ----
      const left = await regionOf('a');
      const from = left.leader!.storeId;
      const to = left.peers.find((p) => p.storeId !== from)!.storeId;
      const tl = await ok('region', 'transfer-leader', String(left.id), String(to));
      assert.match(tl.stderr, new RegExp(`^region ${left.id}: transfer-leader to store ${to}: done in `, 'm'));
      assert.match(tl.stdout, new RegExp(`leader on store ${to} \\(peer \\d+\\)$`, 'm'));
      assert.equal((await regionOf('a')).leader!.storeId, to);
      await refused(/^tinykv: region 999 not found$/m, 'region', 'transfer-leader', '999', '1');
      await refused(/^tinykv: store 99 not found$/m, 'region', 'transfer-leader', String(left.id), '99');
      await refused(
        new RegExp(`^tinykv: the leader of region ${left.id} is already on store ${to}$`, 'm'),
        'region',
        'transfer-leader',
        String(left.id),
        String(to),
      );
      await refused(/^tinykv: REGION must be a positive integer id, got "x"$/m, 'region', 'transfer-leader', 'x', '1');

      // ---- remove-peer / add-peer, with the replica-checker paused ----
      await ok('scheduler', 'pause', 'replica-checker');
      const right = await regionOf('z');
      const victim = right.peers.find((p) => p.storeId !== right.leader!.storeId)!.storeId;
      await refused(
        new RegExp(`^tinykv: region ${right.id} already has a peer on store ${victim} \\(peer \\d+\\)$`, 'm'),
        'region',
        'add-peer',
        String(right.id),
        String(victim),
      );
      const rm = await ok('region', 'remove-peer', String(right.id), String(victim));
      assert.match(rm.stderr, new RegExp(`^region ${right.id}: remove-peer on store ${victim}: done in `, 'm'));
      assert.doesNotMatch(rm.stderr, /note:/, 'no warning that the paused replica-checker would undo it');
      assert.equal((await regionOf('z')).peers.length, 2);
      await refused(
        new RegExp(`^tinykv: region ${right.id} has no peer on store ${victim}$`, 'm'),
        'region',
        'remove-peer',
        String(right.id),
        String(victim),
      );
      // Paused: several scheduling rounds go by and nothing re-adds the replica.
      await sleep(2000);
      assert.equal((await regionOf('z')).peers.length, 2, 'the paused replica-checker did not act');
      const add = await ok('region', 'add-peer', String(right.id), String(victim));
      assert.match(add.stderr, new RegExp(`^region ${right.id}: add-peer on store ${victim}: 2 steps done in `, 'm'));
      const back = await regionOf('z');
      assert.deepEqual(
        back.peers.map((p) => p.role),
        ['Voter', 'Voter', 'Voter'],
      );
      assert.ok(back.peers.some((p) => p.storeId === victim));

      // Resumed, it acts again: a replica removed by hand comes back.
      await ok('region', 'remove-peer', String(right.id), String(victim));
      await ok('scheduler', 'resume', 'replica-checker');
      await waitFor('the replica-checker to restore 3 voters', 30_000, async () => {
        const r = await regionOf('z');
        const voters = r.peers.filter((p) => p.role === 'Voter').length;
        return voters === 3 ? { ok: true, value: r } : { ok: false, why: `${voters} voters` };
      });

      // ---- operators ----
      const ops = await ok('operators');
      const lines = ops.stdout.trim().split('\n');
      assert.match(lines[0]!, /^ID\s+REGION\s+KIND\s+STATE\s+STEP\s+TIME\s+STEPS$/);
      assert.ok(
        lines.some((l) => /\sadmin-transfer-leader\s+finished\s+1\/1\s+took \d+\.\d s\s+transfer leader from store/.test(l)),
        ops.stdout,
      );
      assert.ok(
        lines.some((l) => /\sadmin-split-region\s+finished\s+1\/1\s.*split at "m"/.test(l)),
        ops.stdout,
      );
      const oj = JSON.parse((await ok('--json', 'operators')).stdout) as {
        operators: unknown[];
        recent: { kind: string; state: string }[];
      };
      assert.ok(
        oj.recent.some((o) => o.kind === 'add-replica' && o.state === 'finished'),
        'the replica-checker operator is listed too',
      );

      // ---- store offline ----
      await refused(
        /^tinykv: store \d+ holds 3 replicas and only 2 other stores are up: placing 3 replicas of each region elsewhere needs 3 \(add a store first\)$/m,
        'store',
        'offline',
        String(from),
      );
      await refused(/^tinykv: store 99 not found$/m, 'store', 'offline', '99');
      await c.addStore();
      await waitFor('the fourth store to heartbeat', 30_000, async () => {
        const st = JSON.parse((await ok('--json', 'stores')).stdout) as { state: string }[];
        return st.filter((s) => s.state === 'Up').length === 4 ? { ok: true, value: null } : { ok: false, why: JSON.stringify(st) };
      });
      // A store with leaders: its replicas move to the new store, its leaderships to the others.
      const gone = from;
      const nw = await ok('store', 'offline', String(gone), '--no-wait');
      assert.match(nw.stdout, new RegExp(`^store ${gone}: Offline: 3 of 3 replicas left .*it becomes a tombstone once empty`));
      const off = await ok('store', 'offline', String(gone));
      assert.match(off.stderr, new RegExp(`^note: store ${gone} is already offline$`, 'm'));
      assert.match(off.stderr, new RegExp(`^store ${gone}: tombstone: 3 replicas moved away in \\d+\\.\\d s$`, 'm'));
      assert.equal(off.stdout, `store ${gone} is a tombstone: it holds no replica and may be shut down\n`);
      for (const r of await regions()) {
        assert.equal(r.peers.length, 3, JSON.stringify(r));
        assert.ok(!r.peers.some((p) => p.storeId === gone), `region ${r.id} has no peer on store ${gone} any more`);
      }
      await refused(
        new RegExp(`^tinykv: store ${gone} is a tombstone \\(removed from the cluster\\)$`, 'm'),
        'store',
        'offline',
        String(gone),
      );
      const right2 = await regionOf('z');
      await refused(new RegExp(`^tinykv: store ${gone} is a tombstone`, 'm'), 'region', 'add-peer', String(right2.id), String(gone));
      for (const k of ['a', 'f', 'm', 'q', 'z']) assert.equal(Buffer.from((await client.get(k))!).toString(), `v-${k}`);
    } finally {
      client.close();
    }
  });
});
