// The admin verbs of tinykv (pd-ctl's common ones), over the scheduler's admin API on its HTTP
// status address:
//
//   tinykv region split KEY | transfer-leader REGION STORE | add-peer REGION STORE | remove-peer REGION STORE
//   tinykv store offline ID [--no-wait]
//   tinykv operators [--limit N]
//   tinykv scheduler pause NAME | resume NAME | show
//
// A region verb makes an operator at the scheduler (checked there first: a refusal is one line
// naming the problem, exit 1, nothing changed), follows it with a progress line on stderr until
// it ends, then prints the region as it is now. An operator that ends without finishing
// (cancelled, timed out) exits 1 with the scheduler's reason.
import type { PdClient, RegionWithLeader } from '@tskv/rpc';
import { loadTls } from '@tskv/rpc';
import { type Command, Option } from 'commander';
import { type RegionInfo, regionInfo } from '../src/admin.js';
import { showKey } from '../src/bytes.js';
import { type AdminOperator, type AdminStore, SchedulerAdmin } from '../src/scheduler_admin.js';
import { table } from './table.js';

export interface AdminCliContext {
  g: () => { json: boolean; scheduler: string; timeout: number; caPath?: string; certPath?: string; keyPath?: string };
  run: (f: () => Promise<number>) => () => Promise<void>;
  /** A key of the command line (hex with --hex). */
  input: (s: string, what: string) => Uint8Array;
  out: (s: string) => void;
  /** A usage error (one line on stderr, exit 1). */
  usage: (message: string) => Error;
  withScheduler: (f: (pd: PdClient) => Promise<number> | Promise<void>) => Promise<number>;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The status address of a scheduler at host:port when none is given: the same host, port + 1 (as `npm start` and tinykv-scheduler's defaults). */
export function defaultStatusAddress(schedulerAddr: string): string {
  const m = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(schedulerAddr);
  if (!m) return schedulerAddr;
  return `${m[1] || '127.0.0.1'}:${Number(m[2]) + 1}`;
}

/** One line of progress on stderr: rewritten in place on a terminal, else a new line whenever its key changes. */
class Progress {
  private readonly tty = !!process.stderr.isTTY;
  private lastKey = '';
  private written = false;

  update(key: string, text: string): void {
    if (this.tty) {
      process.stderr.write(`\r${text}\x1b[K`);
      this.written = true;
    } else if (key !== this.lastKey) {
      process.stderr.write(`${text}\n`);
    }
    this.lastKey = key;
  }

  end(text: string): void {
    process.stderr.write(this.tty && this.written ? `\r${text}\x1b[K\n` : `${text}\n`);
  }
}

function peersText(r: RegionInfo): string {
  return r.peers.map((p) => `${p.id}@store${p.storeId}${p.role === 'Voter' ? '' : `(${p.role})`}`).join(' ');
}

function rangeText(r: RegionInfo): string {
  return `[${r.start || '-inf'}, ${r.end || '+inf'})`;
}

function regionJson(r: RegionInfo): object {
  const { startKey, endKey, ...rest } = r;
  return { ...rest, startKey: Buffer.from(startKey).toString('hex'), endKey: Buffer.from(endKey).toString('hex') };
}

function regionLine(r: RegionInfo): string {
  const leader = r.leader ? `leader on store ${r.leader.storeId} (peer ${r.leader.id})` : 'no leader known';
  return `region ${r.id} ${rangeText(r)} epoch ${r.confVer}/${r.version}: peers ${peersText(r)}; ${leader}`;
}

export function adminCommands(p: Command, ctx: AdminCliContext): void {
  p.addOption(
    new Option(
      '--scheduler-status <addr>',
      "the scheduler's HTTP status address, for the admin commands (default: the --scheduler host, port + 1)",
    ).env('TINYKV_SCHEDULER_STATUS'),
  );

  const admin = (): SchedulerAdmin => {
    const g = ctx.g();
    const given = (p.opts() as { schedulerStatus?: string }).schedulerStatus;
    const addr = given || defaultStatusAddress(g.scheduler);
    const tls = loadTls(
      { caPath: g.caPath || undefined, certPath: g.certPath || undefined, keyPath: g.keyPath || undefined },
      'tinykv (--ca-path/--cert-path/--key-path)',
    );
    return new SchedulerAdmin(addr, { timeoutMs: g.timeout, tls });
  };

  const id =
    (what: string) =>
    (v: string): number => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw ctx.usage(`${what} must be a positive integer id, got "${v}"`);
      return n;
    };

  /** The region(s) an operator worked on, as the scheduler knows them now. */
  const regionsAfter = (ids: number[]): Promise<RegionInfo[]> => {
    const out: RegionInfo[] = [];
    return ctx
      .withScheduler(async (pd) => {
        for (const rid of ids) {
          const r: RegionWithLeader | null = await pd.getRegionById(rid);
          if (r) out.push(regionInfo(r));
        }
      })
      .then(() => out);
  };

  /**
   * Adds the operator, follows it to its end with a progress line, prints the outcome. `title`
   * names what it does (after "region N: "); `after` gives the regions to show once finished.
   */
  const runOperator = async (
    req: Parameters<SchedulerAdmin['addOperator']>[0],
    title: (op: AdminOperator) => string,
    o: { wait: boolean },
    after: (op: AdminOperator) => Promise<{ regions: RegionInfo[]; text: string }>,
  ): Promise<number> => {
    const a = admin();
    const json = ctx.g().json;
    const { operator, note } = await a.addOperator(req);
    if (note && !json) process.stderr.write(`note: ${note}\n`);
    const head = `region ${operator.regionId}: ${title(operator)}`;
    if (!o.wait) {
      if (json) ctx.out(JSON.stringify({ ok: true, operator, ...(note ? { note } : {}) }));
      else ctx.out(`${head}: operator ${operator.id} added (follow it with: tinykv operators)`);
      return 0;
    }
    const progress = new Progress();
    const t0 = Date.now();
    const final = await a.waitOperator(operator.id, (op) => {
      if (op.state !== 'running') return;
      const n = op.steps.length;
      const step = `step ${Math.min(op.step + 1, n)}/${n}`;
      progress.update(`${op.step}`, `${head}: ${step} (${op.steps[op.step] ?? ''}) ... ${secs(Date.now() - t0)}`);
    });
    const took = secs(final.tookMs ?? Date.now() - t0);
    if (final.state !== 'finished') {
      const how = final.state === 'timeout' ? 'timed out' : 'cancelled';
      progress.end(`${head}: ${how} after ${took}`);
      if (json) ctx.out(JSON.stringify({ ok: false, operator: final }));
      throw new Error(`operator ${final.id} on region ${final.regionId} ${how}: ${final.reason ?? 'no reason given'}`);
    }
    progress.end(`${head}: ${final.steps.length > 1 ? `${final.steps.length} steps ` : ''}done in ${took}`);
    const { regions, text } = await after(final);
    if (json) ctx.out(JSON.stringify({ ok: true, operator: final, regions: regions.map(regionJson), ...(note ? { note } : {}) }));
    else ctx.out(text);
    return 0;
  };

  /** The two regions on either side of the new boundary. */
  const regionsAfterSplit = async (origin: number, key: Uint8Array): Promise<RegionInfo[]> => {
    const out: RegionInfo[] = [];
    await ctx.withScheduler(async (pd) => {
      const left = await pd.getRegionById(origin);
      const right = await pd.getRegion(key);
      for (const r of [left, right]) if (r) out.push(regionInfo(r));
    });
    return out;
  };

  const noWait = (): Option => new Option('--no-wait', 'return once the operator is added, without following it');
  const region = p.command('region').description("change a region through the scheduler's operators (split, leader, peers)");

  region
    .command('split')
    .description('split the region holding KEY at KEY (KEY becomes the start of a new region)')
    .argument('<key>')
    .addOption(noWait())
    .action((key: string, o: { wait: boolean }) =>
      ctx.run(async () => {
        const k = ctx.input(key, 'KEY');
        if (k.length === 0) throw ctx.usage('region split: the key is empty (the first region already starts there)');
        return runOperator(
          { name: 'split-region', key: k },
          () => `split at ${showKey(k)}`,
          o,
          async (op) => {
            const rs = await regionsAfterSplit(op.regionId, k);
            return { regions: rs, text: rs.map(regionLine).join('\n') };
          },
        );
      })(),
    );

  const peerVerb = (name: 'transfer-leader' | 'add-peer' | 'remove-peer', what: string, title: (store: number) => string): void => {
    region
      .command(name)
      .description(what)
      .argument('<region>', 'region id', id('REGION'))
      .argument('<store>', 'store id', id('STORE'))
      .addOption(noWait())
      .action((rid: number, sid: number, o: { wait: boolean }) =>
        ctx.run(() =>
          runOperator(
            { name, regionId: rid, storeId: sid },
            () => title(sid),
            o,
            async () => {
              const rs = await regionsAfter([rid]);
              return { regions: rs, text: rs.map(regionLine).join('\n') };
            },
          ),
        )(),
      );
  };
  peerVerb('transfer-leader', "move REGION's leadership to its voter on STORE", (s) => `transfer-leader to store ${s}`);
  peerVerb('add-peer', 'add a voter of REGION on STORE (a learner first, promoted once it caught up)', (s) => `add-peer on store ${s}`);
  peerVerb(
    'remove-peer',
    "remove REGION's peer on STORE (its leadership moved away first; refused if the live voters left would be short of a quorum)",
    (s) => `remove-peer on store ${s}`,
  );

  const store = p.command('store').description('take a store out of the cluster');
  store
    .command('offline')
    .description('mark store ID offline: the scheduler moves its replicas away; waits until it holds none (a tombstone)')
    .argument('<id>', 'store id', id('ID'))
    .addOption(new Option('--no-wait', 'return once the store is marked, after showing what is left to move'))
    .action((sid: number, o: { wait: boolean }) =>
      ctx.run(async () => {
        const a = admin();
        const json = ctx.g().json;
        const first = await a.setStoreState(sid, 'Offline');
        if (!json) {
          if (first.changed === false) process.stderr.write(`note: store ${sid} is already offline\n`);
          if (first.note) process.stderr.write(`note: ${first.note}\n`);
        }
        const total = first.regionCount;
        const left = (s: AdminStore): string =>
          `${s.regionCount} of ${count(total, 'replica')} left (${count(s.leaderCount, 'leader')}), ${count(s.operators, 'operator')} in flight`;
        if (!o.wait) {
          if (json) ctx.out(JSON.stringify({ ok: true, store: first }));
          else ctx.out(`store ${sid}: ${first.state}: ${left(first)}; it becomes a tombstone once empty (follow it with: tinykv stores)`);
          return 0;
        }
        const progress = new Progress();
        const t0 = Date.now();
        let s = first;
        while (s.state === 'Offline') {
          progress.update(`${s.regionCount}`, `store ${sid}: offline: ${left(s)} ... ${secs(Date.now() - t0)}`);
          await new Promise((r) => setTimeout(r, 500));
          s = await a.store(sid);
        }
        if (s.state !== 'Tombstone') {
          progress.end(`store ${sid}: back ${s.state} after ${secs(Date.now() - t0)}`);
          throw new Error(`store ${sid} was set ${s.state} again while its replicas were moving`);
        }
        progress.end(`store ${sid}: tombstone: ${count(total, 'replica')} moved away in ${secs(Date.now() - t0)}`);
        if (json) ctx.out(JSON.stringify({ ok: true, store: s }));
        else ctx.out(`store ${sid} is a tombstone: it holds no replica and may be shut down`);
        return 0;
      })(),
    );

  p.command('operators')
    .description("the scheduler's operators: in flight, then the last ones to end (newest first)")
    .addOption(
      new Option('--limit <n>', 'ended operators shown').default(20).argParser((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw ctx.usage(`--limit must be an integer >= 0, got "${v}"`);
        return n;
      }),
    )
    .action((o: { limit: number }) =>
      ctx.run(async () => {
        const { operators, recent } = await admin().operators();
        const ended = recent.slice(0, o.limit);
        if (ctx.g().json) {
          ctx.out(JSON.stringify({ operators, recent: ended }));
          return 0;
        }
        const rows = [...operators, ...ended].map((op) => {
          const n = op.steps.length;
          const running = op.state === 'running';
          const detail = running
            ? `${op.steps[op.step] ?? ''}${n > 1 ? ` (all: ${op.steps.join(', then ')})` : ''}`
            : `${op.steps.join(', then ')}${op.state === 'finished' ? '' : `: ${op.reason ?? ''}`}`;
          return [
            String(op.id),
            String(op.regionId),
            op.kind,
            op.state,
            running ? `${op.step + 1}/${n}` : `${op.state === 'finished' ? n : op.step}/${n}`,
            running ? `${secs(op.ageMs)} so far` : `took ${secs(op.tookMs ?? 0)}`,
            detail,
          ];
        });
        if (rows.length === 0) ctx.out('no operators in flight or recently ended');
        else ctx.out(table(['ID', 'REGION', 'KIND', 'STATE', 'STEP', 'TIME', 'STEPS'], rows));
        return 0;
      })(),
    );

  const sched = p
    .command('scheduler')
    .description('pause or resume one of the schedulers (balance-leader, balance-region, replica-checker)');
  for (const verb of ['pause', 'resume'] as const) {
    sched
      .command(verb)
      .description(`${verb} scheduler NAME (at run time: a scheduler restart goes back to its config)`)
      .argument('<name>')
      .action((name: string) =>
        ctx.run(async () => {
          const r = await admin().pauseScheduler(name, verb === 'pause');
          if (ctx.g().json) ctx.out(JSON.stringify(r));
          else ctx.out(`${r.name}: ${r.paused ? 'paused' : 'running'}${r.changed ? '' : ` (it already was)`}`);
          return 0;
        })(),
      );
  }
  sched
    .command('show')
    .alias('list')
    .description('the schedulers and whether each is paused')
    .action(() =>
      ctx.run(async () => {
        const { schedulers } = await admin().schedulers();
        if (ctx.g().json) ctx.out(JSON.stringify(schedulers));
        else
          ctx.out(
            table(
              ['NAME', 'STATE'],
              schedulers.map((s) => [s.name, s.paused ? 'paused' : 'running']),
            ),
          );
        return 0;
      })(),
    );
}
