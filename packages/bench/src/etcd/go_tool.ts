// etcd's own benchmark tool (go.etcd.io/etcd/tools/benchmark), built on this machine from Debian
// packages only, and cached outside the repository (~/.cache/tskv-bench/etcd-benchmark):
//
// - golang-go (the compiler) and golang-etcd-server-dev (etcd's Go packages, clientv3 and
//   pkg/report, with the -dev packages of their dependencies, cobra and pb.v1 among them) by
//   apt-get install;
// - tools/benchmark itself is not in the -dev package (Debian leaves tools/ out), so its source
//   comes from Debian's etcd source package of the same version: `apt-get source --download-only`
//   with a private apt state (deb-src twins of the system's sources, own lists and cache
//   directories: the system's apt configuration is not touched);
// - `go build` in GOPATH mode (GO111MODULE=off, GOPATH=<build>:/usr/share/gocode, GOPROXY=off):
//   nothing is fetched by Go.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { tailFile } from '@tskv/cluster';

export const GOCODE = '/usr/share/gocode';
export const ETCD_SRC = `${GOCODE}/src/go.etcd.io/etcd`;

export function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tskv-bench');
}

export interface GoTool {
  bin: string;
  /** Version of the Debian etcd source it was built from ("3.4.23-4"). */
  version: string;
}

/** Whether the binary runs and knows the commands the benchmark uses. */
function works(bin: string): boolean {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && /\bput\b/.test(r.stdout) && /\brange\b/.test(r.stdout) && /\btxn-put\b/.test(r.stdout);
}

/** The cached tool, or null. */
export function findGoTool(): GoTool | null {
  const bin = join(cacheDir(), 'etcd-benchmark');
  if (!works(bin)) return null;
  const v = join(cacheDir(), 'etcd-benchmark.version');
  return { bin, version: existsSync(v) ? readFileSync(v, 'utf8').trim() : 'unknown' };
}

export type Log = (s: string) => void;

/** Runs a build step with its output appended to the log; its exit status. */
export function run(
  cmd: string,
  args: string[],
  logFd: number,
  o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): number {
  writeFileSync(logFd, `\n$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    cwd: o.cwd,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...o.env },
    stdio: ['ignore', logFd, logFd],
    timeout: o.timeoutMs ?? 600_000,
  });
  return r.status ?? -1;
}

/** apt-get install of the packages (apt-get update and again if it fails). */
export function aptInstall(pkgs: string[], logFd: number): boolean {
  const args = ['install', '-y', '--no-install-recommends', ...pkgs];
  if (run('apt-get', args, logFd) === 0) return true;
  run('apt-get', ['update'], logFd);
  return run('apt-get', args, logFd) === 0;
}

/** deb-src twins of the system's apt sources (deb822 stanzas and one-line entries). */
/**
 * Go and etcd's Go sources from Debian (golang-go, golang-etcd-server-dev), installed if missing;
 * returns why they could not be, or null. Both etcd Go drivers build against them offline.
 */
export function installGoEtcd(what: string, log: Log, logFd: number): string | null {
  if (spawnSync('sh', ['-c', 'command -v go']).status === 0 && existsSync(`${ETCD_SRC}/clientv3`)) return null;
  log(`  ${what}: apt-get install -y golang-go golang-etcd-server-dev`);
  return aptInstall(['golang-go', 'golang-etcd-server-dev'], logFd) ? null : 'apt-get install golang-go golang-etcd-server-dev failed';
}

export function debSrcSources(files: { name: string; text: string }[]): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const f of files) {
    if (f.name.endsWith('.sources')) {
      const text = f.text.replace(/^Types:\s*deb\s*$/gm, 'Types: deb-src');
      if (/^Types: deb-src$/m.test(text)) out.push({ name: f.name, text });
    } else if (f.name.endsWith('.list')) {
      const lines = f.text
        .split('\n')
        .filter((l) => /^\s*deb\s/.test(l))
        .map((l) => l.replace(/^\s*deb\s/, 'deb-src '));
      if (lines.length) out.push({ name: f.name, text: `${lines.join('\n')}\n` });
    }
  }
  return out;
}

function systemSources(): { name: string; text: string }[] {
  const files: { name: string; text: string }[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push({ name: 'sources.list', text: readFileSync('/etc/apt/sources.list', 'utf8') });
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) for (const n of readdirSync(d).sort()) files.push({ name: n, text: readFileSync(join(d, n), 'utf8') });
  return files;
}

function dpkgVersion(pkg: string): string | null {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format placeholder, not a JS template
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/**
 * Builds the tool into the cache (about a minute, most of it `go build`), or returns the reason
 * it could not. The log of every step is in <cache>/build.log.
 */
export function buildGoTool(log: Log): GoTool | { error: string } {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'build.log');
  const fd = openSync(logFile, 'w');
  const fail = (why: string): { error: string } => ({ error: `${why} (log: ${logFile})\n${tailFile(logFile, 15)}` });
  try {
    const missing = installGoEtcd('etcd benchmark tool', log, fd);
    if (missing) return fail(missing);
    if (!existsSync(`${ETCD_SRC}/clientv3`) || !existsSync(`${ETCD_SRC}/pkg/report`))
      return fail(`${ETCD_SRC}/clientv3 or pkg/report missing after installing golang-etcd-server-dev`);
    const version = dpkgVersion('golang-etcd-server-dev');
    if (!version) return fail('golang-etcd-server-dev is not installed');

    // tools/benchmark from Debian's etcd source package of the same version, with a private apt state.
    log(`  etcd benchmark tool: apt-get source etcd=${version} (its tools/benchmark)`);
    const apt = join(dir, 'apt');
    rmSync(join(apt, 'parts'), { recursive: true, force: true });
    for (const sub of ['parts', 'lists/partial', 'cache/archives/partial', 'src']) mkdirSync(join(apt, sub), { recursive: true });
    const srcs = debSrcSources(systemSources());
    if (!srcs.length) return fail('no apt sources to derive deb-src entries from');
    for (const s of srcs) writeFileSync(join(apt, 'parts', s.name), s.text);
    const aptOpts = [
      '-o',
      'Dir::Etc::SourceList=/dev/null',
      '-o',
      `Dir::Etc::SourceParts=${join(apt, 'parts')}`,
      '-o',
      `Dir::State::Lists=${join(apt, 'lists')}`,
      '-o',
      `Dir::Cache=${join(apt, 'cache')}`,
      '-o',
      'APT::Sandbox::User=root',
    ];
    const upstream = version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
    const orig = join(apt, 'src', `etcd_${upstream}.orig.tar.gz`);
    if (!existsSync(orig)) {
      run('apt-get', [...aptOpts, 'update'], fd);
      if (
        run('apt-get', [...aptOpts, 'source', '--download-only', `etcd=${version}`], fd, { cwd: join(apt, 'src') }) !== 0 ||
        !existsSync(orig)
      )
        return fail(`apt-get source etcd=${version} failed`);
    }
    const build = join(dir, 'build');
    rmSync(build, { recursive: true, force: true });
    const pkgDir = join(build, 'gopath/src/go.etcd.io/etcd');
    mkdirSync(pkgDir, { recursive: true });
    if (run('tar', ['xzf', orig, '-C', pkgDir, '--strip-components=1', '--wildcards', '*/tools/benchmark'], fd) !== 0)
      return fail(`tools/benchmark not found in ${orig}`);

    log('  etcd benchmark tool: go build (offline, GOPATH mode)');
    const bin = join(dir, 'etcd-benchmark');
    const env = {
      GO111MODULE: 'off',
      GOPATH: `${join(build, 'gopath')}:${GOCODE}`,
      GOPROXY: 'off',
      GOFLAGS: '',
      GOCACHE: join(build, 'gocache'),
      CGO_ENABLED: '0',
    };
    if (run('go', ['build', '-o', `${bin}.tmp`, '.'], fd, { cwd: join(pkgDir, 'tools/benchmark'), env }) !== 0)
      return fail('go build of tools/benchmark failed');
    renameSync(`${bin}.tmp`, bin);
    writeFileSync(`${bin}.version`, `${version}\n`);
    rmSync(build, { recursive: true, force: true });
    if (!works(bin)) return fail(`${bin} does not run`);
    return { bin, version };
  } finally {
    closeSync(fd);
  }
}

/** The cached tool, else a fresh build; null with the reason printed when it cannot be had. */
export function ensureGoTool(log: Log): GoTool | null {
  const found = findGoTool();
  if (found) return found;
  log(`etcd benchmark tool: not built yet: building it from Debian packages into ${cacheDir()}`);
  const t0 = Date.now();
  let r: GoTool | { error: string };
  try {
    r = buildGoTool(log);
  } catch (e) {
    r = { error: String((e as Error).message ?? e) };
  }
  if ('error' in r) {
    log(`etcd benchmark tool: could not build it: ${r.error}`);
    return null;
  }
  log(`  etcd benchmark tool ${r.version}: built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${r.bin}`);
  return r;
}
