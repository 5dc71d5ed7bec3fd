// Progress of backup and restore: keys and bytes moved, rate, ETA. On a terminal a bar redrawn in
// place on stderr; otherwise (a pipe, a log file) one plain line every few seconds.
import { MB } from './throttle.js';

/** What backup and restore report; ProgressBar draws it, tests may record it. */
export interface ProgressSink {
  /** A phase begins; totals that are known up front (units: regions or files). */
  phase(label: string, totals: { units?: number; unitName?: string; keys?: number; bytes?: number }): void;
  add(keys: number, bytes: number): void;
  unitDone(): void;
  /** The phase is over (the last state is shown once more). */
  end(): void;
}

export const NO_PROGRESS: ProgressSink = { phase() {}, add() {}, unitDone() {}, end() {} };

export interface ProgressState {
  label: string;
  startedAt: number;
  keys: number;
  bytes: number;
  units: number;
  totalUnits?: number;
  unitName: string;
  totalKeys?: number;
  totalBytes?: number;
}

const int = (n: number): string => n.toLocaleString('en-US');
export const mbText = (bytes: number): string => `${(bytes / MB).toFixed(bytes >= 100 * MB ? 0 : 1)} MB`;

export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The share done, from bytes when their total is known, else from units; null if unknown. */
export function fractionOf(s: ProgressState): number | null {
  if (s.totalBytes !== undefined) return s.totalBytes === 0 ? 1 : Math.min(1, s.bytes / s.totalBytes);
  if (s.totalUnits !== undefined) return s.totalUnits === 0 ? 1 : Math.min(1, s.units / s.totalUnits);
  return null;
}

/**
 * One progress line; `bar` cells of bar drawn in front when given (a terminal). `compact` leaves
 * out the units and the key total, for a narrow terminal.
 */
export function progressLine(s: ProgressState, now: number, bar = 0, compact = false): string {
  const elapsed = Math.max(1, now - s.startedAt);
  const f = fractionOf(s);
  const rate = (s.bytes / elapsed) * 1000;
  const parts: string[] = [];
  if (f !== null) {
    const pct = `${Math.floor(f * 100)}%`.padStart(4);
    if (bar > 0) {
      const full = Math.round(f * bar);
      parts.push(`[${'█'.repeat(full)}${'░'.repeat(bar - full)}] ${pct}`);
    } else parts.push(pct.trim());
  }
  if (s.totalUnits !== undefined && !compact) parts.push(`${int(s.units)}/${int(s.totalUnits)} ${s.unitName}`);
  parts.push(`${int(s.keys)}${s.totalKeys !== undefined && !compact ? `/${int(s.totalKeys)}` : ''} keys`);
  parts.push(`${mbText(s.bytes)}${s.totalBytes !== undefined ? `/${mbText(s.totalBytes)}` : ''}`);
  parts.push(`${(rate / MB).toFixed(1)} MB/s`);
  if (f !== null && f < 1) parts.push(f > 0 ? `ETA ${durationText((elapsed * (1 - f)) / f)}` : 'ETA -');
  else if (f === 1) parts.push(`in ${durationText(elapsed)}`);
  return `${s.label}${bar > 0 ? ' ' : ': '}${parts.join(bar > 0 ? '  ' : ', ')}`;
}

export interface ProgressBarOptions {
  stream?: NodeJS.WriteStream;
  /** Redraw in place (default: whether the stream is a terminal). */
  tty?: boolean;
  /** Terminal redraws at most this often (ms, default 100). */
  redrawMs?: number;
  /** Plain lines this often (ms, default 5 000). */
  lineMs?: number;
  now?: () => number;
}

export class ProgressBar implements ProgressSink {
  private state: ProgressState | null = null;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly redrawMs: number;
  private readonly lineMs: number;
  private readonly now: () => number;
  private last = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: ProgressBarOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? !!this.stream.isTTY;
    this.redrawMs = opts.redrawMs ?? 100;
    this.lineMs = opts.lineMs ?? 5_000;
    this.now = opts.now ?? Date.now;
  }

  phase(label: string, totals: { units?: number; unitName?: string; keys?: number; bytes?: number }): void {
    if (this.state) this.end();
    const now = this.now();
    this.state = {
      label,
      startedAt: now,
      keys: 0,
      bytes: 0,
      units: 0,
      totalUnits: totals.units,
      unitName: totals.unitName ?? 'files',
      totalKeys: totals.keys,
      totalBytes: totals.bytes,
    };
    this.last = now;
    if (this.tty) this.draw(now);
    // Rate and ETA stay current while a long read is under way.
    this.timer = setInterval(() => this.maybeDraw(), this.tty ? 500 : this.lineMs);
    this.timer.unref();
  }

  add(keys: number, bytes: number): void {
    if (!this.state) return;
    this.state.keys += keys;
    this.state.bytes += bytes;
    this.maybeDraw();
  }

  unitDone(): void {
    if (!this.state) return;
    this.state.units++;
    this.maybeDraw();
  }

  end(): void {
    if (!this.state) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const now = this.now();
    if (this.tty) {
      this.draw(now);
      this.stream.write('\n');
    } else this.stream.write(`${progressLine(this.state, now)}\n`);
    this.state = null;
  }

  private maybeDraw(): void {
    if (!this.state) return;
    const now = this.now();
    if (now - this.last < (this.tty ? this.redrawMs : this.lineMs)) return;
    this.last = now;
    if (this.tty) this.draw(now);
    else this.stream.write(`${progressLine(this.state!, now)}\n`);
  }

  private draw(now: number): void {
    const cols = this.stream.columns || 80;
    // A wrapped line cannot be redrawn in place: the bar shrinks, the line drops its units and
    // key total, the bar goes, and at last the line is cut.
    const fit = (compact: boolean): string | null => {
      const line = progressLine(this.state!, now, 24, compact);
      const bar = 24 - Math.max(0, line.length - (cols - 1));
      return bar >= 8 ? progressLine(this.state!, now, bar, compact) : null;
    };
    const line = fit(false) ?? fit(true) ?? progressLine(this.state!, now, 0, true);
    this.stream.write(`\r${line.slice(0, Math.max(1, cols - 1))}\x1b[K`);
  }
}
