// Shared by the tests that go through a real socket: temporary data dirs, servers on free ports,
// raw clients (to send what PdClient never would: malformed requests, other cluster ids).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { metapb, schedulerpb } from '@tskv/proto';
import { newSchedulerGrpcClient, type SchedulerGrpcClient, type SchedulerServiceDefinition, unary } from '@tskv/rpc';
import type { SchedulerConfig } from '../src/config.js';
import { SchedulerServer } from '../src/server.js';

export async function tempDir(t: { after(fn: () => Promise<void> | void): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tskv-scheduler-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function startServer(dataDir: string, config: Partial<SchedulerConfig> = {}): Promise<SchedulerServer> {
  return SchedulerServer.start({ dataDir, addr: '127.0.0.1:0', statusAddr: '127.0.0.1:0', config: { scheduleIntervalMs: 50, ...config } });
}

export function rawClient(addr: string): SchedulerGrpcClient {
  return newSchedulerGrpcClient(addr);
}

/** A raw unary call (no header filled in, no retries, header errors returned, not thrown). */
export function call<Res>(
  c: SchedulerGrpcClient,
  method: keyof SchedulerServiceDefinition,
  req: object,
): Promise<Res & { header: schedulerpb.ResponseHeader }> {
  return unary(c, c[method], req, 5000);
}

export function firstRegion(id: number, peerId: number, storeId: number): metapb.IRegion {
  return {
    id,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    regionEpoch: { confVer: 1, version: 1 },
    peers: [{ id: peerId, storeId }],
  };
}

export async function waitFor<T>(
  what: string,
  f: () => Promise<T | null | undefined> | T | null | undefined,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
