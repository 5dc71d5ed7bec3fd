// Shared test helpers (no tests here). Real LevelDB files under os.tmpdir(), removed afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envSeed, Prng } from '@tskv/util';

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tskv-engine-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes of a string, or of a list of byte values. */
export function b(s: string | number[]): Uint8Array {
  return typeof s === 'string' ? new TextEncoder().encode(s) : Uint8Array.from(s);
}

export function str(u: Uint8Array | undefined): string | undefined {
  return u === undefined ? undefined : new TextDecoder().decode(u);
}

export function hex(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');
}

/** 2-byte big-endian key of n (sorts numerically). */
export function k2(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

/** A seeded PRNG; the seed comes from ENGINE_TEST_SEED or is fresh, and is printed. */
export function seededRandom(label: string): Prng {
  const seed = envSeed('ENGINE_TEST_SEED');
  console.log(`# ${label}: seed=${seed} (rerun with ENGINE_TEST_SEED=${seed})`);
  return new Prng(seed);
}
