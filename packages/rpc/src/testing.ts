// Test helpers of @tskv/rpc (import from '@tskv/rpc/testing'): test certificates for mutual TLS,
// made by scripts/make-test-certs.sh (bash + openssl).
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TlsOptions } from './tls.js';

/** scripts/make-test-certs.sh of the repository (relative to this file, not the cwd). */
export const MAKE_TEST_CERTS = fileURLToPath(new URL('../../../../scripts/make-test-certs.sh', import.meta.url));

export interface TestCerts {
  dir: string;
  /** CN tskv-store: stores and the scheduler (server and client use). */
  store: TlsOptions;
  /** CN tskv-client. */
  client: TlsOptions;
  /** CN intruder, signed by the same CA. */
  intruder: TlsOptions;
  /** CN tskv-client, signed by another CA (and trusting only that one). */
  other: TlsOptions;
}

/** Why certificates cannot be made here (openssl or bash missing), or null. */
export function testCertsUnavailable(): string | null {
  for (const cmd of ['bash', 'openssl']) {
    const r = spawnSync(cmd, cmd === 'bash' ? ['-c', 'true'] : ['version'], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${cmd} is not installed: the TLS tests need it to make certificates`;
  }
  return null;
}

/** Makes (or reuses) the test certificates in dir. */
export function makeTestCerts(dir: string): TestCerts {
  execFileSync('bash', [MAKE_TEST_CERTS, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const f = (name: string, ca = 'ca'): TlsOptions => ({
    caPath: join(dir, `${ca}.pem`),
    certPath: join(dir, `${name}.pem`),
    keyPath: join(dir, `${name}-key.pem`),
  });
  return { dir, store: f('store'), client: f('client'), intruder: f('intruder'), other: f('other', 'other-ca') };
}
