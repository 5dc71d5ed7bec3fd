// The `tinykv backup` and `tinykv restore` commands (src/backup/ has the logic and the format).
import { type Command, Option } from 'commander';
import { backup } from '../src/backup/backup.js';
import { NO_PROGRESS, ProgressBar, type ProgressSink } from '../src/backup/progress.js';
import { restore, verifyBackup } from '../src/backup/restore.js';
import type { TxnClientOptions } from '../src/txn_client.js';

export interface BackupCliContext {
  g: () => { json: boolean };
  run: (f: () => Promise<number>) => () => Promise<void>;
  out: (s: string) => void;
  /** A usage error (one line on stderr, exit 1). */
  usage: (message: string) => Error;
  /** The connection options of the global flags (scheduler, timeouts, TLS), checked. */
  connection: () => TxnClientOptions;
}

const int = (n: number): string => n.toLocaleString('en-US');
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export function backupCommands(p: Command, ctx: BackupCliContext): void {
  const positive =
    (name: string, integer: boolean) =>
    (v: string): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
        throw ctx.usage(`${name} must be a${integer ? 'n integer' : ' number'} > 0, got "${v}"`);
      return n;
    };
  const progressOf = (o: { progress: boolean }): ProgressSink => (o.progress ? new ProgressBar() : NO_PROGRESS);

  p.command('backup')
    .description(
      'copy every region to DIR: raw data region by region, each read at one read index; transactional data at one timestamp; ' +
        'checksummed files and manifest.json (written last)',
    )
    .requiredOption('--to <dir>', 'directory of the backup (created if missing; must be empty)')
    .addOption(
      new Option('--rate-limit <MB/s>', 'read at most this many MB (10^6 bytes) per second').argParser(positive('--rate-limit', false)),
    )
    .addOption(new Option('--concurrency <n>', 'regions read at the same time').argParser(positive('--concurrency', true)).default(4))
    .option('--no-progress', 'no progress bar or lines on stderr')
    .action((o: { to: string; rateLimit?: number; concurrency: number; progress: boolean }) =>
      ctx.run(async () => {
        const s = await backup({
          ...ctx.connection(),
          dir: o.to,
          rateLimitMBps: o.rateLimit,
          concurrency: o.concurrency,
          progress: progressOf(o),
        });
        const m = s.manifest;
        const t = m.totals;
        if (ctx.g().json) {
          ctx.out(
            JSON.stringify({
              ok: true,
              dir: s.dir,
              backupTs: m.backupTs,
              regions: t.regions,
              files: t.files,
              rawKeys: t.rawKeys,
              txnKeys: t.txnKeys,
              bytes: t.bytes,
              size: t.size,
              seconds: s.seconds,
              mbPerSec: Number(s.mbPerSec.toFixed(2)),
              multiReadRanges: s.multiReadRanges,
            }),
          );
          return 0;
        }
        const lines = [
          `backup of ${int(t.regions)} regions at ts ${m.backupTs} (${m.backupTsTime}) in ${s.dir}:`,
          `  ${int(t.rawKeys)} raw keys, ${int(t.txnKeys)} transactional keys, ${mb(t.bytes)} in ${int(t.files)} files (${mb(t.size)})`,
          `  ${s.seconds.toFixed(1)} s, ${s.mbPerSec.toFixed(1)} MB/s; manifest.json written last`,
        ];
        if (s.multiReadRanges > 0)
          lines.push(
            `  note: ${s.multiReadRanges} region/CF ranges took more than one RawScan (a split during the backup, or more ` +
              'than one read carries): each of those reads is a snapshot at its own read index (see manifest.json)',
          );
        ctx.out(lines.join('\n'));
        return 0;
      })(),
    );

  p.command('restore')
    .description(
      'verify every checksum of the backup in DIR (a damaged one is refused, naming the file), then load it into an empty ' + 'cluster',
    )
    .requiredOption('--from <dir>', 'directory of the backup')
    .addOption(
      new Option('--rate-limit <MB/s>', 'write at most this many MB (10^6 bytes) per second').argParser(positive('--rate-limit', false)),
    )
    .addOption(new Option('--concurrency <n>', 'batches written at the same time').argParser(positive('--concurrency', true)).default(8))
    .option('--verify-only', 'check the backup and write nothing')
    .option('--no-progress', 'no progress bar or lines on stderr')
    .action((o: { from: string; rateLimit?: number; concurrency: number; verifyOnly?: boolean; progress: boolean }) =>
      ctx.run(async () => {
        if (o.verifyOnly) {
          const m = await verifyBackup(o.from, progressOf(o));
          const t = m.totals;
          if (ctx.g().json)
            ctx.out(JSON.stringify({ ok: true, intact: true, backupTs: m.backupTs, regions: t.regions, files: t.files, size: t.size }));
          else
            ctx.out(
              `backup ${o.from} is intact: ${int(t.files)} files (${mb(t.size)}), ${int(t.rawKeys)} raw and ${int(t.txnKeys)} ` +
                `transactional keys at ts ${m.backupTs}`,
            );
          return 0;
        }
        const s = await restore({
          ...ctx.connection(),
          dir: o.from,
          rateLimitMBps: o.rateLimit,
          concurrency: o.concurrency,
          progress: progressOf(o),
        });
        if (ctx.g().json) {
          ctx.out(
            JSON.stringify({
              ok: true,
              dir: s.dir,
              backupTs: s.manifest.backupTs,
              rawKeys: s.rawKeys,
              txnKeys: s.txnKeys,
              bytes: s.bytes,
              verifySeconds: s.verifySeconds,
              seconds: s.seconds,
              mbPerSec: Number(s.mbPerSec.toFixed(2)),
            }),
          );
          return 0;
        }
        ctx.out(
          [
            `restored ${s.dir} (backup ts ${s.manifest.backupTs}, ${int(s.manifest.totals.regions)} regions):`,
            `  ${int(s.rawKeys)} raw keys, ${int(s.txnKeys)} transactional keys, ${mb(s.bytes)}`,
            `  verified in ${s.verifySeconds.toFixed(1)} s, loaded in ${s.seconds.toFixed(1)} s (${s.mbPerSec.toFixed(1)} MB/s)`,
          ].join('\n'),
        );
        return 0;
      })(),
    );
}
