// A stand-in for tinykv-server with the same command-line interface and ready line, for tests of
// the process cluster. The store id is the number in its data directory's name (store2 -> 2); it
// counts its starts in DATA/starts (to see data reused) and registers with the scheduler.
// Misbehaviour on demand, per store name: FAKE_FAIL_START=store2 (exit 1 before ready),
// FAKE_CRASH=store2:300 (exit 3 300 ms after ready), FAKE_IGNORE_SIGTERM=store2.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PdClient } from '@tskv/rpc';
import { behaviour, flags } from './args.js';

const f = flags(process.argv.slice(2));
const dir = f['data-dir']!;
const name = basename(dir);
const id = Number(/(\d+)$/.exec(name)?.[1] ?? 1);
const log = (s: string): void => appendFileSync(f['log-file']!, `${new Date().toISOString()} ${s}\n`);
const startsFile = join(dir, 'starts');
const starts = (existsSync(startsFile) ? Number(readFileSync(startsFile, 'utf8')) : 0) + 1;
writeFileSync(startsFile, String(starts));
log(`fake store ${id} starting (start #${starts}) at ${f.addr}, scheduler ${f.scheduler}${f.config ? `, config ${f.config}` : ''}`);

if (behaviour(process.env.FAKE_FAIL_START, name) !== null) {
  log('cannot open the data directory (simulated)');
  process.stderr.write('fatal: cannot open the data directory (simulated)\n');
  process.exit(1);
}
const pd = new PdClient(f.scheduler!, { timeoutMs: 10_000 });
await pd.putStore({ id, address: f.addr, statusAddress: f['status-addr'] });
pd.close();
// The SIGTERM handler goes in before the ready line: the parent may signal as soon as it reads it.
const ignoreTerm = behaviour(process.env.FAKE_IGNORE_SIGTERM, name) !== null;
process.on('SIGTERM', () => {
  log(ignoreTerm ? 'SIGTERM: ignored' : 'SIGTERM: stopping');
  if (!ignoreTerm) process.exit(0);
});
process.stdout.write(`${JSON.stringify({ event: 'ready', storeId: id, addr: f.addr, statusAddr: f['status-addr'] })}\n`);
log('ready');

const crash = behaviour(process.env.FAKE_CRASH, name);
if (crash !== null) {
  setTimeout(
    () => {
      log('boom: simulated crash');
      process.stderr.write('Error: boom (simulated crash)\n    at somewhere (fake_server.ts:1:1)\n');
      process.exit(3);
    },
    Number(crash || 0),
  );
}
setInterval(() => {}, 60_000);
