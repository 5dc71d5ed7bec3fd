// The launcher behind `npm start`: one scheduler and N stores (default 3) as child processes,
// data and logs under ./data, until Ctrl-C. Starting again reuses the data.
//
//   node packages/cluster/dist/bin/start.js [--stores N] [--data-dir DIR] [--base-port P]
//        [--scheduler-port P] [--config-dir DIR] [--log-level L] [--ready-timeout MS]
//        [--tls-dir DIR [--cert-allowed-cn a,b]]
//
// Exit codes: 0 after Ctrl-C / SIGTERM (every child stopped), 1 if a child failed to start or
// exited unexpectedly (reported with the tail of its log), 2 for bad flags.
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { parseCnList } from '@tskv/rpc';
import { Command, Option } from 'commander';
import { ProcessCluster, ProcessStartError, type UnexpectedExit } from '../src/index.js';

function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`start: ${name} must be an integer in [${min}, ${max}], got "${v}"\n`);
      process.exit(2);
    }
    return n;
  };
}

const program = new Command('start')
  .description('Run a local tskv cluster: one scheduler and N stores as child processes, until Ctrl-C')
  .addOption(new Option('--stores <n>', 'number of stores').argParser(intArg('--stores', 1, 99)).default(3))
  .addOption(new Option('--data-dir <dir>', 'data and logs directory (reused if present)').default('./data'))
  .addOption(
    new Option('--base-port <port>', 'store i listens on base+i, its status server on base+20+i (0: free ports)')
      .argParser(intArg('--base-port', 0, 65000))
      .default(20160),
  )
  .addOption(
    new Option('--scheduler-port <port>', 'scheduler gRPC port; its status server is port+1 (0: free ports)')
      .argParser(intArg('--scheduler-port', 0, 65000))
      .default(2379),
  )
  .addOption(new Option('--config-dir <dir>', 'config files: scheduler.json, store<i>.json or store.json'))
  .addOption(new Option('--log-level <level>', 'log level of every process (error, warn, info, debug)'))
  .addOption(
    new Option(
      '--tls-dir <dir>',
      'mutual TLS for everything, gRPC and status pages, with the certificates of scripts/make-test-certs.sh in DIR',
    ),
  )
  .addOption(new Option('--cert-allowed-cn <a,b>', 'with --tls-dir: the Common Names every process lets call it'))
  .addOption(
    new Option('--ready-timeout <ms>', 'how long to wait for the cluster to be usable before saying what is missing')
      .argParser(intArg('--ready-timeout', 1))
      .default(60_000),
  )
  .addOption(
    new Option('--scheduler-bin <file>', 'the scheduler command (default: packages/scheduler/dist/bin/tinykv-scheduler.js)').hideHelp(),
  )
  .addOption(new Option('--server-bin <file>', 'the store command (default: packages/server/dist/bin/tinykv-server.js)').hideHelp())
  .allowExcessArguments(false);

program.parse(process.argv);
const o = program.opts<{
  stores: number;
  dataDir: string;
  basePort: number;
  schedulerPort: number;
  configDir?: string;
  logLevel?: string;
  tlsDir?: string;
  certAllowedCn?: string;
  readyTimeout: number;
  schedulerBin?: string;
  serverBin?: string;
}>();

if (o.certAllowedCn !== undefined && !o.tlsDir) {
  process.stderr.write('start: --cert-allowed-cn needs --tls-dir\n');
  process.exit(2);
}
if (o.tlsDir && !['ca.pem', 'store.pem', 'store-key.pem', 'client.pem', 'client-key.pem'].every((f) => existsSync(join(o.tlsDir!, f)))) {
  process.stderr.write(`start: ${o.tlsDir} lacks the certificates: make them with scripts/make-test-certs.sh ${o.tlsDir}\n`);
  process.exit(2);
}

const say = (s: string): void => void process.stdout.write(`${s}\n`);
const warn = (s: string): void => void process.stderr.write(`${s}\n`);
const show = (p: string): string => {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? `./${r}` : p;
};

const cluster = new ProcessCluster({
  dataDir: o.dataDir,
  stores: o.stores,
  basePort: o.basePort,
  schedulerPort: o.schedulerPort,
  configDir: o.configDir,
  logLevel: o.logLevel,
  tls: o.tlsDir ? { dir: o.tlsDir, allowedCn: parseCnList(o.certAllowedCn ?? '') } : undefined,
  schedulerBin: o.schedulerBin,
  serverBin: o.serverBin,
  detached: true,
});

let stopping = false;
async function shutdown(code: number, why: string): Promise<never> {
  if (stopping) {
    // A second Ctrl-C: do not wait.
    cluster.killAllNow();
    warn('killed every process');
    process.exit(1);
  }
  stopping = true;
  say(`${why}: stopping the cluster (SIGTERM to every process; SIGKILL after 10 s) ...`);
  await cluster.stop();
  say('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0, 'Ctrl-C'));
process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
process.on('SIGHUP', () => void shutdown(0, 'SIGHUP'));

cluster.on('unexpected-exit', (e: UnexpectedExit) => {
  if (stopping) return;
  warn(`\n${e.info.name} (pid ${e.info.pid}) exited unexpectedly (${e.signal ?? `code ${e.code}`})`);
  if (e.logTail) warn(e.logTail);
  void shutdown(1, `${e.info.name} failed`);
});

cluster.on('ready', (p: { name: string; addr: string; storeId: number | null; clusterId: number | null }) => {
  if (p.name === 'scheduler') say(`  scheduler ready at ${p.addr} (cluster ${p.clusterId ?? '?'})`);
  else say(`  ${p.name} ready at ${p.addr} (store id ${p.storeId ?? '?'})`);
});

say(`tskv: starting a local cluster: 1 scheduler, ${o.stores} store${o.stores > 1 ? 's' : ''}, data in ${show(cluster.dataDir)}`);
try {
  await cluster.start();
} catch (e) {
  if (stopping) await new Promise(() => {});
  warn(`\nstart failed: ${(e as Error).message}`);
  if (e instanceof ProcessStartError && e.logTail) warn(e.logTail);
  await shutdown(1, 'start failed');
}

const a = cluster.addresses;
const rows: string[][] = [['scheduler', a.scheduler, cluster.statusUrl('scheduler', '/metrics')]];
for (const s of a.stores)
  rows.push([`store${s.index}${s.storeId !== null ? ` (id ${s.storeId})` : ''}`, s.addr, cluster.statusUrl(s.index, '/metrics')]);
const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
say('');
for (const r of rows)
  say(`  ${r[0]!.padEnd(w[0]!)}  ${r[1]!.padEnd(w[1]!)}  status ${r[2]!.replace(/\/metrics$/, '/status')}  metrics ${r[2]}`);
say(`  logs: ${show(cluster.logsDir)}/ (scheduler.log, store1.log, ...; crashes in *.stderr.log)`);
say(`  dashboard: ${cluster.statusUrl('scheduler', '/')}`);
say('');
say('try: npx tinykv put hello world / npx tinykv get hello   (and npx tinykv status, regions, stores)');
if (o.tlsDir) {
  const d = show(o.tlsDir);
  say(`     on TLS: npx tinykv --ca-path ${d}/ca.pem --cert-path ${d}/client.pem --key-path ${d}/client-key.pem ...`);
  say(`     curl --cacert ${d}/ca.pem --cert ${d}/client.pem --key ${d}/client-key.pem ${cluster.statusUrl('scheduler', '/status')}`);
}
say('');

// Usable = every region has a leader and its replicas (asked from the scheduler, nothing written).
let last = '';
let lastAt = 0;
const progress = (missing: string[]): void => {
  const m = missing.join('; ');
  if (m !== last || Date.now() - lastAt > 10_000) {
    if (Date.now() - lastAt > 2_000 || m !== last) say(`  waiting: ${m}`);
    last = m;
    lastAt = Date.now();
  }
};
for (let first = true; !stopping; first = false) {
  try {
    const ov = await cluster.waitUntilReady({
      timeoutMs: first ? o.readyTimeout : 24 * 3_600_000,
      onProgress: first ? progress : undefined,
    });
    // Per process name (store1..N); a store not started by this launcher by its id.
    const names = new Map(cluster.addresses.stores.map((x) => [x.storeId, `store${x.index}`]));
    const leaders = Object.entries(ov.leadersPerStore)
      .map(([id, n]) => `${names.get(Number(id)) ?? `store id ${id}`}: ${n}`)
      .sort((x, y) => x.localeCompare(y, 'en', { numeric: true }))
      .join(', ');
    say(
      `cluster ready: ${ov.regions.length} region${ov.regions.length === 1 ? '' : 's'}, ${ov.health.replicas} replicas each, ` +
        `leaders ${leaders}. Ctrl-C stops it.`,
    );
    break;
  } catch (e) {
    if (stopping) break;
    warn(`not ready yet: ${(e as Error).message} (still waiting; see the logs)`);
  }
}
