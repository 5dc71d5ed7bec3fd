// The GC safe point through a real socket with PdClient: needs a bootstrapped cluster, exact
// above 2^53, never moves back (a lower update answers the current one), concurrent updates end
// at their maximum, survives a restart, shows in /status; values that are not u64 are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedulerpb } from '@tskv/proto';
import { PdClient, SchedulerError } from '@tskv/rpc';
import { HeaderError } from '../src/errors.js';
import { SchedulerStorage } from '../src/storage.js';
import { firstRegion, startServer, tempDir } from './helpers.js';

const E = schedulerpb.ErrorType;
const U64_MAX = (1n << 64n) - 1n;
/** A TSO-like timestamp above 2^53 whose low bit a double would lose. */
const SP = (1n << 60n) + 1n;

async function bootstrap(pd: PdClient): Promise<void> {
  const [storeId, regionId, peerId] = [await pd.allocId(), await pd.allocId(), await pd.allocId()];
  await pd.bootstrap({ id: storeId, address: '127.0.0.1:20160' }, firstRegion(regionId, peerId, storeId));
}

async function status(addr: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${addr}/status`);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

test('GC safe point: bootstrapped cluster only; exact above 2^53; never moves back; concurrent updates end at their maximum; in /status', async (t) => {
  const dir = await tempDir(t);
  const server = await startServer(dir);
  const pd = new PdClient(server.addr, { timeoutMs: 5000 });
  t.after(async () => {
    pd.close();
    await server.stop();
  });
  const notBootstrapped = (e: unknown) => e instanceof SchedulerError && e.type === E.NOT_BOOTSTRAPPED;
  await assert.rejects(pd.getGCSafePoint(), notBootstrapped);
  await assert.rejects(pd.updateGCSafePoint(SP), notBootstrapped);
  await bootstrap(pd);

  assert.equal(await pd.getGCSafePoint(), 0n, 'never set: 0');
  assert.equal((await status(server.statusAddr!)).gcSafePoint, '0');
  assert.equal(await pd.updateGCSafePoint(SP), SP);
  assert.equal(await pd.getGCSafePoint(), SP);
  // Lower or equal: unchanged, the current one is answered.
  assert.equal(await pd.updateGCSafePoint(SP - 1n), SP);
  assert.equal(await pd.updateGCSafePoint(0n), SP);
  assert.equal(await pd.updateGCSafePoint(SP), SP);
  assert.equal(await pd.getGCSafePoint(), SP);
  assert.equal(await pd.updateGCSafePoint(SP + 2n), SP + 2n);
  assert.equal((await status(server.statusAddr!)).gcSafePoint, String(SP + 2n), 'a decimal string in /status');

  // Concurrent updates in any order: each answer is at least its request, the answers as a
  // whole never exceed the maximum, and the maximum wins.
  const base = SP + 1000n;
  const asks = Array.from({ length: 50 }, (_, i) => base + BigInt((i * 37) % 50));
  const answers = await Promise.all(asks.map((a) => pd.updateGCSafePoint(a)));
  const max = base + 49n;
  answers.forEach((got, i) => {
    assert.ok(got >= asks[i]! && got <= max, `update ${asks[i]} answered ${got}`);
  });
  assert.equal(await pd.getGCSafePoint(), max);

  // The largest u64 is accepted; beyond it nothing can move the safe point anyway.
  assert.equal(await pd.updateGCSafePoint(U64_MAX), U64_MAX);
  assert.equal(await pd.updateGCSafePoint(U64_MAX - 5n), U64_MAX);
});

test('GC safe point: values that are not u64 are refused, by the client and by the scheduler itself', async (t) => {
  const dir = await tempDir(t);
  const server = await startServer(dir);
  const pd = new PdClient(server.addr, { timeoutMs: 5000 });
  t.after(async () => {
    pd.close();
    await server.stop();
  });
  await bootstrap(pd);
  await pd.updateGCSafePoint(SP);
  await assert.rejects(pd.updateGCSafePoint(-1n), RangeError);
  await assert.rejects(pd.updateGCSafePoint(1n << 64n), RangeError);
  await assert.rejects(pd.updateGCSafePoint(Number(SP) as unknown as bigint), TypeError);
  // The core refuses them too (a caller in-process, or a codec that let one through).
  for (const bad of [-1n, 1n << 64n, 12, '12', null]) {
    await assert.rejects(
      server.core.updateGCSafePoint(bad),
      (e: unknown) => e instanceof HeaderError && e.type === E.UNKNOWN && /GC safe point must be a u64/.test(e.message),
    );
  }
  assert.equal(await pd.getGCSafePoint(), SP, 'nothing refused changed it');
});

test('GC safe point: survives a restart on the same data dir, exactly (the storage holds it between the runs)', async (t) => {
  const dir = await tempDir(t);
  let server = await startServer(dir);
  let pd = new PdClient(server.addr, { timeoutMs: 5000 });
  await bootstrap(pd);
  assert.equal(await pd.updateGCSafePoint(SP + 7n), SP + 7n);
  pd.close();
  await server.stop();

  // What the storage holds, read directly between the two runs.
  const storage = await SchedulerStorage.open(dir);
  assert.equal((await storage.load()).gcSafePoint, SP + 7n);
  await storage.close();

  server = await startServer(dir);
  pd = new PdClient(server.addr, { timeoutMs: 5000 });
  t.after(async () => {
    pd.close();
    await server.stop();
  });
  assert.equal(await pd.getGCSafePoint(), SP + 7n);
  assert.equal(await pd.updateGCSafePoint(SP), SP + 7n, 'still never moves back after a restart');
  assert.equal(await pd.updateGCSafePoint(SP + 8n), SP + 8n);
});
