// Minimal flag parsing for the fake commands (--name value pairs).
export function flags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) out[a.slice(2)] = argv[i + 1] ?? '';
    if (a.startsWith('--')) i++;
  }
  return out;
}

/** The behaviour asked of store<i> by an env variable like FAKE_CRASH=store2:300,store3:0. */
export function behaviour(env: string | undefined, name: string): string | null {
  for (const part of (env ?? '').split(',')) {
    const [n, v] = part.split(':');
    if (n === name) return v ?? '';
  }
  return null;
}
