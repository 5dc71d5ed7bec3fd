// The `tinykv txn` commands: several keys written in one transaction, or read from one snapshot.
import type { Command } from 'commander';
import type { TxnClient } from '../src/txn_client.js';

export interface TxnCliContext {
  g: () => { json: boolean; hex: boolean };
  run: (f: () => Promise<number>) => () => Promise<void>;
  /** A key or value of the command line (hex with --hex). */
  input: (s: string, what: string) => Uint8Array;
  output: (b: Uint8Array) => string;
  out: (s: string) => void;
  /** A usage error (one line on stderr, exit 1). */
  usage: (message: string) => Error;
  withTxnClient: (f: (c: TxnClient) => Promise<number> | Promise<void>) => Promise<number>;
}

export function txnCommands(p: Command, ctx: TxnCliContext): void {
  const txn = p.command('txn').description('transactions: several keys written atomically, or read from one snapshot');

  txn
    .command('put')
    .description('write KEY1 = VALUE1, KEY2 = VALUE2, ... in one transaction; prints its commit timestamp')
    .argument('<key-value...>', 'KEY VALUE [KEY VALUE ...]')
    .action((args: string[]) =>
      ctx.run(() =>
        ctx.withTxnClient(async (c) => {
          if (args.length % 2 !== 0) throw ctx.usage(`txn put: expected KEY VALUE pairs, got ${args.length} arguments`);
          const pairs: [Uint8Array, Uint8Array][] = [];
          for (let i = 0; i < args.length; i += 2) pairs.push([ctx.input(args[i]!, 'KEY'), ctx.input(args[i + 1]!, 'VALUE')]);
          const t = await c.begin();
          for (const [k, v] of pairs) t.put(k, v);
          const commitTs = await t.commit();
          // JSON numbers cannot hold a u64 exactly: the timestamp is a string there.
          ctx.out(ctx.g().json ? JSON.stringify({ ok: true, commitTs: String(commitTs) }) : String(commitTs));
        }),
      )(),
    );

  txn
    .command('get')
    .description('print "key<TAB>value" for each KEY, all read at one timestamp ("KEY: not found" on stderr and exit 1 for absent ones)')
    .argument('<key...>')
    .action((keys: string[]) =>
      ctx.run(() =>
        ctx.withTxnClient(async (c) => {
          const ks = keys.map((k) => ctx.input(k, 'KEY'));
          const t = await c.begin();
          const vs = await t.batchGet(ks);
          await t.rollback();
          const missing = vs.filter((v) => v === null).length;
          if (ctx.g().json) {
            const values = keys.map((k, i) =>
              vs[i] === null ? { key: k, found: false } : { key: k, found: true, value: ctx.output(vs[i]!) },
            );
            ctx.out(JSON.stringify({ startTs: String(t.startTs), values }));
            return missing > 0 ? 1 : 0;
          }
          for (const [i, k] of keys.entries()) {
            const v = vs[i];
            if (v === null || v === undefined) process.stderr.write(`${k}: not found\n`);
            else if (ctx.g().hex) ctx.out(`${k}\t${ctx.output(v)}`);
            else process.stdout.write(Buffer.concat([Buffer.from(`${k}\t`), v, Buffer.from('\n')]));
          }
          return missing > 0 ? 1 : 0;
        }),
      )(),
    );

  txn
    .command('safepoint')
    .description(
      "show the scheduler's MVCC GC safe point; --set TS or --set now advances it (it never moves back): the stores' GC then " +
        'drops the versions no read at or after it can see',
    )
    .option('--set <ts>', 'a timestamp (u64), or "now" for a fresh one from the oracle')
    .action((o: { set?: string }) =>
      ctx.run(() =>
        ctx.withTxnClient(async (c) => {
          let sp: bigint;
          if (o.set === undefined) sp = await c.pd.getGCSafePoint();
          else {
            let want: bigint;
            if (o.set === 'now') want = await c.currentTs();
            else if (/^\d+$/.test(o.set)) want = BigInt(o.set);
            else throw ctx.usage(`txn safepoint: --set takes a timestamp (an unsigned integer) or "now", got ${JSON.stringify(o.set)}`);
            if (want >= 1n << 64n) throw ctx.usage(`txn safepoint: ${o.set} does not fit in 64 bits`);
            sp = await c.pd.updateGCSafePoint(want);
            if (sp > want) process.stderr.write(`the safe point stays at ${sp}: it never moves back\n`);
          }
          // Physical milliseconds of a TSO timestamp are its upper bits (18 logical bits below).
          const at = sp === 0n ? null : new Date(Number(sp >> 18n)).toISOString();
          ctx.out(ctx.g().json ? JSON.stringify({ safePoint: String(sp), time: at }) : `${sp}${at ? `\t${at}` : '\t(not set)'}`);
        }),
      )(),
    );
}
