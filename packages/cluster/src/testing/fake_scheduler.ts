// A stand-in for tinykv-scheduler with the same command-line interface and ready line, for tests
// of the process cluster: the fake scheduler service of @tskv/client/testing (one region with
// peers on stores 1..FAKE_REGION_STORES, led by store 1; stores register with PutStore).
import { appendFileSync } from 'node:fs';
import { FakeCluster } from '@tskv/client/testing';
import { flags } from './args.js';

const f = flags(process.argv.slice(2));
const log = (s: string): void => appendFileSync(f['log-file']!, `${new Date().toISOString()} ${s}\n`);
const port = Number(f.addr!.split(':')[1]);
const c = await FakeCluster.start({
  stores: 0,
  regionStores: Number(process.env.FAKE_REGION_STORES ?? 3),
  schedulerPort: port,
  shuffle: false,
});
log(`fake scheduler serving at ${c.schedulerAddr}, data in ${f['data-dir']}${f.config ? `, config ${f.config}` : ''}`);
process.stdout.write(
  `${JSON.stringify({ event: 'ready', addr: c.schedulerAddr, statusAddr: f['status-addr'], clusterId: c.clusterId })}\n`,
);
process.on('SIGTERM', () => {
  log('SIGTERM: stopping');
  void c.close().then(() => process.exit(0));
});
