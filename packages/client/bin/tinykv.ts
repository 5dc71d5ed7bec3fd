// tinykv: the command-line client of a tskv cluster.
//
//   tinykv put KEY VALUE | get KEY | delete KEY | scan [START] [END] [--limit N]
//   tinykv txn put KEY VALUE [KEY VALUE ...] | txn get KEY [KEY ...]
//   tinykv regions | stores | status
//   tinykv region split|transfer-leader|add-peer|remove-peer | store offline | operators | scheduler pause|resume (admin_commands.ts)
//   tinykv backup --to DIR | restore --from DIR
//
// It talks to the scheduler at 127.0.0.1:2379 (what `npm start` runs) unless --scheduler ADDR or
// TINYKV_SCHEDULER says otherwise. Errors are one line on stderr and exit code 1; `get` of an
// absent key prints "not found" on stderr and exits 1. With a cluster on mutual TLS, give
// --ca-path, --cert-path and --key-path (or TINYKV_CA_PATH, TINYKV_CERT_PATH, TINYKV_KEY_PATH).

import { loadTls, PdClient, type TlsOptions } from '@tskv/rpc';
import { Command, Option } from 'commander';
import { allRegions, allStores, clusterOverview, type RegionInfo, type StoreInfo } from '../src/admin.js';
import { ClientError } from '../src/errors.js';
import { RawClient, waitForScheduler } from '../src/raw_client.js';
import { TxnClient } from '../src/txn_client.js';
import { adminCommands } from './admin_commands.js';
import { backupCommands } from './backup_commands.js';
import { table } from './table.js';
import { txnCommands } from './txn_commands.js';

interface GlobalOpts {
  scheduler: string;
  timeout: number;
  connectTimeout: number;
  json: boolean;
  hex: boolean;
  caPath?: string;
  certPath?: string;
  keyPath?: string;
}

/** Mutual TLS settings of the flags (loadTls checks that all three or none are given). */
function tlsOf(g: GlobalOpts): TlsOptions {
  return { caPath: g.caPath || undefined, certPath: g.certPath || undefined, keyPath: g.keyPath || undefined };
}

class CliError extends Error {}

function intArg(name: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new CliError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

function input(s: string, g: GlobalOpts, what: string): Uint8Array {
  if (!g.hex) return Buffer.from(s, 'utf8');
  const h = s.startsWith('0x') ? s.slice(2) : s;
  if (!/^([0-9a-fA-F]{2})*$/.test(h)) throw new CliError(`${what} is not hex: "${s}"`);
  return Buffer.from(h, 'hex');
}

function output(b: Uint8Array, g: GlobalOpts): string {
  return g.hex ? Buffer.from(b).toString('hex') : Buffer.from(b).toString('utf8');
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

function age(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 1000) return `${ms} ms ago`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

function peersText(r: RegionInfo): string {
  return r.peers.map((p) => `${p.id}@store${p.storeId}${p.role === 'Voter' ? '' : `(${p.role})`}`).join(' ');
}

function regionsJson(rs: RegionInfo[]): object[] {
  return rs.map(({ startKey, endKey, ...r }) => ({
    ...r,
    startKey: Buffer.from(startKey).toString('hex'),
    endKey: Buffer.from(endKey).toString('hex'),
  }));
}

/** A scheduler client that has answered (or a one-line error). */
async function scheduler(g: GlobalOpts): Promise<PdClient> {
  const tls = loadTls(tlsOf(g), 'tinykv (--ca-path/--cert-path/--key-path)');
  const pd = new PdClient(g.scheduler, { timeoutMs: g.timeout, tls });
  await waitForScheduler(pd, g.scheduler, g.connectTimeout, tls);
  return pd;
}

async function client(g: GlobalOpts): Promise<RawClient> {
  loadTls(tlsOf(g), 'tinykv (--ca-path/--cert-path/--key-path)'); // the flags' errors named as flags
  return RawClient.connect({ schedulerAddr: g.scheduler, timeoutMs: g.timeout, connectTimeoutMs: g.connectTimeout, tls: tlsOf(g) });
}

async function withClient(g: GlobalOpts, f: (c: RawClient) => Promise<number> | Promise<void>): Promise<number> {
  const c = await client(g);
  try {
    return (await f(c)) ?? 0;
  } finally {
    c.close();
  }
}

/** A transactional client; background failures (secondary commits) are reported on stderr. */
async function withTxnClient(g: GlobalOpts, f: (c: TxnClient) => Promise<number> | Promise<void>): Promise<number> {
  loadTls(tlsOf(g), 'tinykv (--ca-path/--cert-path/--key-path)');
  const c = await TxnClient.connect({
    schedulerAddr: g.scheduler,
    timeoutMs: g.timeout,
    connectTimeoutMs: g.connectTimeout,
    tls: tlsOf(g),
    logger: (m) => process.stderr.write(`tinykv: ${m}\n`),
  });
  try {
    const code = (await f(c)) ?? 0;
    // The secondary keys are committed in the background: let that finish before exiting.
    await c.whenIdle();
    return code;
  } finally {
    c.close();
  }
}

async function withScheduler(g: GlobalOpts, f: (pd: PdClient) => Promise<number> | Promise<void>): Promise<number> {
  const pd = await scheduler(g);
  try {
    return (await f(pd)) ?? 0;
  } finally {
    pd.close();
  }
}

/** `secure`: TLS is on (the whole cluster then is, status pages included). */
function storesTable(ss: StoreInfo[], secure: boolean): string {
  return table(
    ['ID', 'ADDRESS', 'STATE', 'REGIONS', 'LEADERS', 'HEARTBEAT', 'STATUS'],
    ss.map((s) => [
      String(s.id),
      s.address,
      s.state + (s.isBusy ? ' (busy)' : ''),
      s.regionCount === null ? '-' : String(s.regionCount),
      s.leaderCount === null ? '-' : String(s.leaderCount),
      age(s.heartbeatAgeMs),
      s.statusAddress ? `${secure ? 'https' : 'http'}://${s.statusAddress}` : '-',
    ]),
  );
}

function regionsTable(rs: RegionInfo[]): string {
  return table(
    ['ID', 'START', 'END', 'EPOCH', 'PEERS', 'LEADER'],
    rs.map((r) => [
      String(r.id),
      r.start || '-inf',
      r.end || '+inf',
      `${r.confVer}/${r.version}`,
      peersText(r),
      r.leader ? `store${r.leader.storeId} (peer ${r.leader.id})` : 'none',
    ]),
  );
}

function program(): Command {
  const p = new Command('tinykv');
  p.description('Command-line client of a tskv cluster (raw and transactional key-value API, cluster views)')
    .addOption(new Option('--scheduler <addr>', 'the scheduler gRPC address').env('TINYKV_SCHEDULER').default('127.0.0.1:2379'))
    .addOption(
      new Option('--timeout <ms>', 'deadline of each operation, retries included').argParser(intArg('--timeout', 1)).default(10_000),
    )
    .addOption(
      new Option('--connect-timeout <ms>', 'how long to wait for the scheduler to answer')
        .argParser(intArg('--connect-timeout', 1))
        .default(3_000),
    )
    .option('--json', 'machine-readable output (JSON)', false)
    .option('--hex', 'keys and values are hex on the command line and in the output', false)
    .addOption(new Option('--ca-path <file>', 'mutual TLS: the CA certificate (PEM) of the cluster').env('TINYKV_CA_PATH'))
    .addOption(new Option('--cert-path <file>', "mutual TLS: this client's certificate (PEM)").env('TINYKV_CERT_PATH'))
    .addOption(new Option('--key-path <file>', 'mutual TLS: the key of --cert-path (PEM)').env('TINYKV_KEY_PATH'))
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });
  const g = (): GlobalOpts => {
    const o = p.opts() as GlobalOpts;
    // TINYKV_SCHEDULER set but empty: the default.
    if (!o.scheduler) o.scheduler = '127.0.0.1:2379';
    return o;
  };
  const run = (f: () => Promise<number>) => async () => {
    process.exitCode = await f();
  };
  const cfOpt = (): Option => new Option('--cf <cf>', 'column family').default('default');

  p.command('put')
    .description('write KEY = VALUE')
    .argument('<key>')
    .argument('<value>')
    .addOption(cfOpt())
    .action((key: string, value: string, o: { cf: string }) =>
      run(() =>
        withClient(g(), async (c) => {
          await c.put(input(key, g(), 'KEY'), input(value, g(), 'VALUE'), o.cf);
          if (g().json) out(JSON.stringify({ ok: true }));
          else out('OK');
        }),
      )(),
    );

  p.command('get')
    .description('print the value of KEY (exit 1 with "not found" if absent)')
    .argument('<key>')
    .addOption(cfOpt())
    .action((key: string, o: { cf: string }) =>
      run(() =>
        withClient(g(), async (c) => {
          const v = await c.get(input(key, g(), 'KEY'), o.cf);
          if (g().json) {
            out(JSON.stringify(v === null ? { found: false } : { found: true, value: output(v, g()) }));
            return v === null ? 1 : 0;
          }
          if (v === null) {
            process.stderr.write('not found\n');
            return 1;
          }
          if (g().hex) out(output(v, g()));
          else process.stdout.write(Buffer.concat([v, Buffer.from('\n')]));
          return 0;
        }),
      )(),
    );

  p.command('delete')
    .description('delete KEY (no error if absent)')
    .argument('<key>')
    .addOption(cfOpt())
    .action((key: string, o: { cf: string }) =>
      run(() =>
        withClient(g(), async (c) => {
          await c.delete(input(key, g(), 'KEY'), o.cf);
          out(g().json ? JSON.stringify({ ok: true }) : 'OK');
        }),
      )(),
    );

  p.command('scan')
    .description('print the pairs START <= key < END as lines "key<TAB>value" (no START: from the first key; no END: to the last)')
    .argument('[start]', 'first key', '')
    .argument('[end]', 'end key, exclusive', '')
    .addOption(new Option('--limit <n>', 'at most N pairs (0: no limit)').argParser(intArg('--limit')).default(100))
    .addOption(cfOpt())
    .action((start: string, end: string, o: { limit: number; cf: string }) =>
      run(() =>
        withClient(g(), async (c) => {
          const kvs = await c.scan(input(start, g(), 'START'), input(end, g(), 'END'), o.limit, o.cf);
          if (g().json) out(JSON.stringify(kvs.map((kv) => ({ key: output(kv.key, g()), value: output(kv.value, g()) }))));
          else for (const kv of kvs) out(`${output(kv.key, g())}\t${output(kv.value, g())}`);
        }),
      )(),
    );

  txnCommands(p, {
    g,
    run,
    input: (s, what) => input(s, g(), what),
    output: (b) => output(b, g()),
    out,
    usage: (m) => new CliError(m),
    withTxnClient: (f) => withTxnClient(g(), f),
  });

  backupCommands(p, {
    g,
    run,
    out,
    usage: (m) => new CliError(m),
    connection: () => {
      loadTls(tlsOf(g()), 'tinykv (--ca-path/--cert-path/--key-path)');
      const o = g();
      const logger = (m: string): void => void process.stderr.write(`tinykv: ${m}\n`);
      return { schedulerAddr: o.scheduler, timeoutMs: o.timeout, connectTimeoutMs: o.connectTimeout, tls: tlsOf(o), logger };
    },
  });

  p.command('regions')
    .description('the regions as the scheduler knows them: id, range, epoch (conf_ver/version), peers, leader')
    .action(() =>
      run(() =>
        withScheduler(g(), async (pd) => {
          const rs = await allRegions(pd);
          out(g().json ? JSON.stringify(regionsJson(rs)) : regionsTable(rs));
        }),
      )(),
    );

  p.command('stores')
    .description('the stores: id, address, state, regions, leaders, last heartbeat')
    .addOption(
      new Option('--down-after <ms>', 'a store not heard from for this long is shown Down')
        .argParser(intArg('--down-after', 1))
        .default(20_000),
    )
    .action((o: { downAfter: number }) =>
      run(() =>
        withScheduler(g(), async (pd) => {
          const ss = await allStores(pd, { downAfterMs: o.downAfter });
          out(g().json ? JSON.stringify(ss) : storesTable(ss, !!g().caPath));
        }),
      )(),
    );

  p.command('status')
    .description('overview: scheduler, cluster id, stores up/down, regions, leaders per store, replica health')
    .addOption(new Option('--replicas <n>', 'replicas a healthy region has').argParser(intArg('--replicas', 1)).default(3))
    .addOption(
      new Option('--down-after <ms>', 'a store not heard from for this long is down').argParser(intArg('--down-after', 1)).default(20_000),
    )
    .action((o: { replicas: number; downAfter: number }) =>
      run(() =>
        withScheduler(g(), async (pd) => {
          const ov = await clusterOverview(pd, { replicas: o.replicas, downAfterMs: o.downAfter });
          if (g().json) {
            out(JSON.stringify({ ...ov, regions: regionsJson(ov.regions) }));
            return;
          }
          const h = ov.health;
          const notUp = ov.stores.filter((s) => s.state !== 'Up' && s.state !== 'Tombstone');
          const notUpNote = notUp.length ? ` (not up: ${notUp.map((s) => `store${s.id} ${s.state}`).join(', ')})` : '';
          const lines = [
            `scheduler  ${ov.schedulerAddr} (cluster ${ov.clusterId})`,
            `stores     ${ov.storesUp} up, ${ov.storesDown} down, ${ov.stores.length} in all${notUpNote}`,
            `regions    ${ov.regions.length}`,
            `leaders    ${
              Object.entries(ov.leadersPerStore)
                .map(([id, n]) => `store${id}: ${n}`)
                .join(', ') || '-'
            }`,
          ];
          if (h.healthy) lines.push(`replicas   healthy: every region has a leader and ${h.replicas} voters on up stores`);
          else {
            const issues: string[] = [];
            if (ov.regions.length === 0) issues.push('no regions (not bootstrapped yet)');
            if (h.regionsWithoutLeader.length)
              issues.push(`${h.regionsWithoutLeader.length} without a leader (${h.regionsWithoutLeader.slice(0, 10).join(', ')})`);
            if (h.underReplicated.length)
              issues.push(
                `${h.underReplicated.length} with fewer than ${h.replicas} voters (${h.underReplicated
                  .slice(0, 10)
                  .map((r) => `${r.id}: ${r.voters}`)
                  .join(', ')})`,
              );
            if (h.peersOnDownStores.length)
              issues.push(
                `${h.peersOnDownStores.length} with peers on stores not up (${h.peersOnDownStores
                  .slice(0, 10)
                  .map((r) => r.id)
                  .join(', ')})`,
              );
            lines.push(`replicas   NOT healthy: ${issues.join('; ')}`);
          }
          out(lines.join('\n'));
        }),
      )(),
    );

  adminCommands(p, {
    g,
    run,
    input: (s, what) => input(s, g(), what),
    out,
    usage: (m) => new CliError(m),
    withScheduler: (f) => withScheduler(g(), f),
  });

  return p;
}

function oneLine(e: unknown): string {
  if (e instanceof ClientError || e instanceof CliError) return e.message;
  const se = e as { code?: number; details?: string; message?: string };
  if (typeof se?.code === 'number' && se.details !== undefined) return `scheduler: ${se.details || se.message}`;
  return (se?.message ?? String(e)).split('\n')[0]!;
}

async function main(): Promise<void> {
  try {
    await program().parseAsync(process.argv);
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    if (typeof code === 'number' && (e as { code?: string }).code?.startsWith('commander.')) process.exit(code);
    process.stderr.write(`tinykv: ${oneLine(e)}\n`);
    process.exit(1);
  }
  // Streams and channels are closed; exit now rather than waiting for gRPC timers.
  process.exit(process.exitCode ?? 0);
}

await main();
