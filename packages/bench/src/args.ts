// Command-line flags of bench-cluster, parsed into BenchOptions (pure: no process.exit, errors
// are thrown as ArgsError so the command prints them and exits 2).
import { Command, CommanderError, Option } from 'commander';

export const WORKLOADS = ['put', 'get', 'batch-put', 'txn1', 'txn4rmw'] as const;
export type Workload = (typeof WORKLOADS)[number];
/** The workloads run when --workloads is not given (the transactional ones are asked for by name). */
export const DEFAULT_WORKLOADS: readonly Workload[] = ['put', 'get', 'batch-put'];
/** Transactions: one attempt per request, aborts counted apart from errors. */
export const TXN_WORKLOADS: readonly Workload[] = ['txn1', 'txn4rmw'];

export function isTxnWorkload(w: string): boolean {
  return (TXN_WORKLOADS as readonly string[]).includes(w);
}

/** Keys a transaction of the workload touches: txn1 writes one, txn4rmw reads and writes four. */
export function txnKeyCount(w: Workload): number {
  return w === 'txn4rmw' ? 4 : 1;
}

export interface BenchOptions {
  clients: number[];
  values: number[];
  workloads: Workload[];
  regions: number[];
  /** Every workload × clients × values at every region count (default: only at the first). */
  fullMatrix: boolean;
  warmupS: number;
  durationS: number;
  /** Fixed number of connections (RawClients / etcd channels) per run; null: one per clientsPerConnection loops. */
  connections: number | null;
  clientsPerConnection: number;
  /** Load generator threads (worker_threads), each with its own connections and event loop. */
  threads: number;
  batchSize: number;
  keys: number;
  attach: string | null;
  pids: number[];
  compare: 'etcd' | null;
  etcdBin: string;
  /** 'leader': every etcd connection to the leader; 'all': connections round-robin over the members. */
  etcdEndpoints: 'leader' | 'all';
  /** What drives etcd: etcd's own Go benchmark tool, the Node loops, or auto (go when it can be built, else node). */
  etcdDriver: 'go' | 'node' | 'auto';
  json: string | null;
  /** The docs file to write the section into, or null. */
  writeDocs: string | null;
  dataDir: string | null;
  keepData: boolean;
  /** Extra node flags for the tskv processes (e.g. --cpu-prof --cpu-prof-dir=DIR to profile the stores). */
  nodeArgs: string[];
  quick: boolean;
  /** Render a saved --json file instead of running (tables; docs with --write-docs). */
  fromJson: string | null;
  /** The arguments as given (for the docs). */
  argv: string[];
}

export class ArgsError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'ArgsError';
  }
}

function intList(name: string, min: number, max: number): (v: string) => number[] {
  return (v) => {
    const parts = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (parts.length === 0) throw new ArgsError(`${name}: expected a comma-separated list of integers, got "${v}"`);
    const out = parts.map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < min || n > max)
        throw new ArgsError(`${name}: each value must be an integer in [${min}, ${max}], got "${s}"`);
      return n;
    });
    return [...new Set(out)];
  };
}

function int(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ArgsError(`${name} must be an integer in [${min}, ${max}], got "${v}"`);
    return n;
  };
}

function seconds(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > 3600)
      throw new ArgsError(`${name} must be a number of seconds in [${min}, 3600], got "${v}"`);
    return n;
  };
}

function workloadList(v: string): Workload[] {
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new ArgsError(`--workloads: expected a list of ${WORKLOADS.join(', ')}`);
  for (const p of parts)
    if (!(WORKLOADS as readonly string[]).includes(p))
      throw new ArgsError(`--workloads: unknown workload "${p}" (known: ${WORKLOADS.join(', ')})`);
  return [...new Set(parts)] as Workload[];
}

function hostPort(v: string): string {
  if (!/^[^\s:]+:\d+$/.test(v) && !/^\[[^\]]+\]:\d+$/.test(v))
    throw new ArgsError(`--attach: expected host:port of the scheduler, got "${v}"`);
  return v;
}

/** The values --quick changes (flags given explicitly win). */
export const QUICK: Partial<Record<'clients' | 'values' | 'regions' | 'warmup' | 'duration' | 'keys', unknown>> = {
  clients: [1, 64],
  values: [100],
  regions: [1, 16],
  warmup: 1,
  duration: 3,
  keys: 5000,
};

export function buildCommand(): Command {
  return new Command('bench-cluster')
    .description(
      'Cluster benchmark: a load generator against a real tskv cluster (scheduler + 3 stores as processes), optionally side by ' +
        'side with a 3-member etcd',
    )
    .addOption(
      new Option('--clients <list>', 'concurrent request loops per run')
        .argParser(intList('--clients', 1, 100_000))
        .default([1, 64, 256], '1,64,256'),
    )
    .addOption(
      new Option('--values <list>', 'value sizes in bytes').argParser(intList('--values', 1, 1024 * 1024)).default([100, 1024], '100,1024'),
    )
    .addOption(
      new Option('--workloads <list>', `workloads (${WORKLOADS.join(', ')})`)
        .argParser(workloadList)
        .default([...DEFAULT_WORKLOADS], DEFAULT_WORKLOADS.join(',')),
    )
    .addOption(
      new Option('--regions <list>', 'pre-split the key space into this many regions (one fresh cluster per count)')
        .argParser(intList('--regions', 1, 4096))
        .default([1, 16, 128], '1,16,128'),
    )
    .addOption(
      new Option(
        '--full-matrix',
        'every workload × clients × values at every region count (default: those at the first count; at the others every ' +
          'workload at the largest client count and the first value size)',
      ).default(false),
    )
    .addOption(new Option('--warmup <s>', 'warm-up seconds before each measured period').argParser(seconds('--warmup', 0)).default(3))
    .addOption(new Option('--duration <s>', 'measured seconds per run').argParser(seconds('--duration', 0.1)).default(10))
    .addOption(
      new Option(
        '--connections <n>',
        'connections per run (RawClient instances / etcd gRPC channels), shared round-robin by the loops (default: one per ' +
          '--clients-per-connection loops)',
      ).argParser(int('--connections', 1, 10_000)),
    )
    .addOption(
      new Option('--clients-per-connection <n>', 'loops per connection when --connections is not given')
        .argParser(int('--clients-per-connection', 1, 100_000))
        .default(64),
    )
    .addOption(
      new Option(
        '--threads <n>',
        'load generator threads (worker_threads): the loops and connections are split over them (each thread has at least one connection)',
      )
        .argParser(int('--threads', 1, 64))
        .default(1),
    )
    .addOption(new Option('--batch-size <n>', 'keys per batch-put request').argParser(int('--batch-size', 1, 10_000)).default(64))
    .addOption(
      new Option('--keys <n>', 'size of the key space (written before the runs; gets read it)')
        .argParser(int('--keys', 64, 10_000_000))
        .default(20_000),
    )
    .addOption(
      new Option('--attach <addr>', 'use a running cluster: its scheduler address (no pre-split, nothing started or stopped)').argParser(
        hostPort,
      ),
    )
    .addOption(
      new Option('--pids <list>', 'with --attach: pids of the cluster processes, for CPU %')
        .argParser(intList('--pids', 1, 2 ** 31 - 1))
        .default([], ''),
    )
    .addOption(new Option('--compare <system>', 'run the same workload against another system, cell by cell').choices(['etcd']))
    .addOption(
      new Option('--etcd-bin <path>', 'the etcd command (installed with apt-get install -y etcd-server if "etcd" is missing)').default(
        'etcd',
      ),
    )
    .addOption(
      new Option('--etcd-endpoints <mode>', 'etcd connections: all to the leader, or round-robin over the members')
        .choices(['leader', 'all'])
        .default('leader'),
    )
    .addOption(
      new Option(
        '--etcd-driver <driver>',
        "what drives etcd: go (etcd's own benchmark tool, built once from Debian packages into ~/.cache/tskv-bench), node (the " +
          "harness's loops over grpc-js), auto (go if it can be had, else node with a note)",
      )
        .choices(['go', 'node', 'auto'])
        .default('auto'),
    )
    .addOption(new Option('--json <file>', 'write every result as JSON'))
    .addOption(
      new Option(
        '--write-docs [file]',
        'write the results into the "Cluster benchmark (bench:cluster)" section of docs/benchmarks.md (or file)',
      ),
    )
    .addOption(new Option('--data-dir <dir>', 'where the temporary data directory is created (default: the OS temp dir)'))
    .addOption(new Option('--keep-data', 'keep the data directory (logs, data) at the end').default(false))
    .addOption(
      new Option(
        '--node-args <flags>',
        'extra node flags for the tskv processes, space-separated (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": one profile per process, written when it stops)',
      ).default(''),
    )
    .addOption(
      new Option(
        '--from-json <file>',
        'do not run: print the tables of a saved --json file (and write the docs section with --write-docs)',
      ),
    )
    .addOption(
      new Option('--quick', 'a ~1 minute smoke run: clients 1,64; values 100; regions 1,16; warm-up 1 s; 3 s per run; 5,000 keys').default(
        false,
      ),
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
}

/**
 * Parses the arguments (without node and the script). `defaultDocs` is the docs file used by a
 * bare --write-docs. Throws ArgsError (exit code 0 for --help, with the help text as message).
 */
export function parseArgs(args: string[], defaultDocs = 'docs/benchmarks.md'): BenchOptions {
  const cmd = buildCommand();
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    if (e instanceof ArgsError) throw e;
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') throw new ArgsError(cmd.helpInformation(), 0);
      throw new ArgsError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  const o = cmd.opts();
  const quick = !!o.quick;
  const pick = <T>(name: keyof typeof QUICK): T =>
    quick && cmd.getOptionValueSource(name) === 'default' ? (QUICK[name] as T) : (o[name] as T);
  const attach: string | null = o.attach ?? null;
  const pids: number[] = o.pids ?? [];
  if (pids.length && !attach) throw new ArgsError('--pids needs --attach (a started cluster knows its pids)');
  const regionsGiven = cmd.getOptionValueSource('regions') !== 'default';
  let regions = pick<number[]>('regions');
  if (attach) {
    if (regionsGiven)
      throw new ArgsError('--regions cannot be used with --attach: a running cluster is measured as it is (its region count is reported)');
    regions = [0]; // 0: as found
  }
  const writeDocs = o.writeDocs === undefined ? null : o.writeDocs === true ? defaultDocs : String(o.writeDocs);
  return {
    clients: pick<number[]>('clients'),
    values: pick<number[]>('values'),
    workloads: o.workloads as Workload[],
    regions,
    fullMatrix: !!o.fullMatrix,
    warmupS: pick<number>('warmup'),
    durationS: pick<number>('duration'),
    connections: o.connections ?? null,
    clientsPerConnection: o.clientsPerConnection as number,
    threads: o.threads as number,
    batchSize: o.batchSize as number,
    keys: pick<number>('keys'),
    attach,
    pids,
    compare: (o.compare as 'etcd' | undefined) ?? null,
    etcdBin: o.etcdBin as string,
    etcdEndpoints: o.etcdEndpoints as 'leader' | 'all',
    etcdDriver: o.etcdDriver as 'go' | 'node' | 'auto',
    json: o.json ?? null,
    writeDocs,
    dataDir: o.dataDir ?? null,
    keepData: !!o.keepData,
    nodeArgs: String(o.nodeArgs ?? '')
      .split(/\s+/)
      .filter((a) => a !== ''),
    quick,
    fromJson: o.fromJson ?? null,
    argv: [...args],
  };
}

export interface Cell {
  workload: Workload;
  valueSize: number;
  /** Requested region count (0: a cluster attached to, as found). */
  regions: number;
  clients: number;
}

/**
 * The runs in order: per region count (one cluster each), per value size (the key space is
 * rewritten with that size first), per workload, per client count. Without fullMatrix, region
 * counts after the first only get every workload at the largest client count and the first
 * value size.
 */
export function cells(o: Pick<BenchOptions, 'regions' | 'values' | 'workloads' | 'clients' | 'fullMatrix'>): Cell[] {
  const out: Cell[] = [];
  const maxClients = Math.max(...o.clients);
  o.regions.forEach((regions, ri) => {
    const full = ri === 0 || o.fullMatrix;
    const values = full ? o.values : [o.values[0]!];
    const clients = full ? o.clients : [maxClients];
    for (const valueSize of values)
      for (const workload of o.workloads) for (const c of clients) out.push({ workload, valueSize, regions, clients: c });
  });
  return out;
}

/** Connections of a run: fixed, or one per clientsPerConnection loops; never more than the loops. */
export function connectionsFor(clients: number, o: Pick<BenchOptions, 'connections' | 'clientsPerConnection'>): number {
  const n = o.connections ?? Math.ceil(clients / o.clientsPerConnection);
  return Math.max(1, Math.min(clients, n));
}
