// A client of the scheduler's admin API (JSON over HTTP on its status address; see the
// scheduler's admin_api.ts): operators made, listed and waited for, store states, scheduler
// pauses. Used by the admin verbs of the tinykv command.
import http from 'node:http';
import https from 'node:https';

/** An operator as the admin API shows it. */
export interface AdminOperator {
  id: number;
  regionId: number;
  kind: string;
  /** The first step not yet seen done. */
  step: number;
  steps: string[];
  createdMs: number;
  ageMs: number;
  state: 'running' | 'finished' | 'timeout' | 'cancelled';
  reason?: string;
  tookMs?: number;
}

export interface AdminStore {
  storeId: number;
  address: string;
  state: 'Up' | 'Offline' | 'Tombstone';
  live: boolean;
  down: boolean;
  regionCount: number;
  leaderCount: number;
  /** Operators in flight with a step on this store. */
  operators: number;
  changed?: boolean;
  note?: string;
}

export type OperatorRequest =
  | { name: 'transfer-leader' | 'add-peer' | 'remove-peer'; regionId: number; storeId: number }
  | { name: 'split-region'; key: Uint8Array };

/** The scheduler answered with an error (the message is its reason: nothing was changed). */
export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SchedulerAdminOptions {
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /**
   * Mutual TLS: the CA, and the client certificate and key. An address without a scheme is then
   * https (the status servers of a cluster on TLS serve HTTPS); without it, http.
   */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer } | null;
}

export class SchedulerAdmin {
  readonly url: URL;
  private readonly timeoutMs: number;

  /** `address`: host:port, or an http:// or https:// URL. */
  constructor(
    address: string,
    private readonly opts: SchedulerAdminOptions = {},
  ) {
    this.url = new URL(/^https?:\/\//.test(address) ? address : `${opts.tls ? 'https' : 'http'}://${address}`);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** The address as given to people (host:port, with the scheme if https). */
  get address(): string {
    return this.url.protocol === 'https:' ? this.url.origin : this.url.host;
  }

  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const secure = this.url.protocol === 'https:';
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const tls = secure && this.opts.tls ? { ca: this.opts.tls.ca, cert: this.opts.tls.cert, key: this.opts.tls.key } : {};
    return new Promise<T>((resolve, reject) => {
      const req = (secure ? https : http).request(
        new URL(path, this.url),
        {
          method,
          headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
          timeout: this.timeoutMs,
          ...tls,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: Record<string, unknown>;
            try {
              json = JSON.parse(text) as Record<string, unknown>;
            } catch {
              reject(
                new Error(
                  `the scheduler at ${this.address} answered ${res.statusCode} with no JSON (is it the scheduler's status address?)`,
                ),
              );
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(json as T);
            else reject(new AdminRequestError(status, typeof json.error === 'string' ? json.error : `HTTP ${status}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof AdminRequestError) return reject(e);
        reject(new Error(`cannot reach the scheduler's status address ${this.address}: ${e.code ?? e.message} (give --scheduler-status)`));
      });
      req.end(data);
    });
  }

  async addOperator(r: OperatorRequest): Promise<{ operator: AdminOperator; note?: string }> {
    const body = r.name === 'split-region' ? { name: r.name, key: Buffer.from(r.key).toString('hex') } : r;
    return this.request('POST', '/admin/operators', body);
  }

  operator(id: number): Promise<AdminOperator> {
    return this.request('GET', `/admin/operators/${id}`);
  }

  operators(): Promise<{ operators: AdminOperator[]; recent: AdminOperator[] }> {
    return this.request('GET', '/admin/operators');
  }

  store(id: number): Promise<AdminStore> {
    return this.request('GET', `/admin/stores/${id}`);
  }

  setStoreState(id: number, state: 'Up' | 'Offline'): Promise<AdminStore> {
    return this.request('POST', `/admin/stores/${id}/state/${state}`);
  }

  schedulers(): Promise<{ schedulers: { name: string; paused: boolean }[] }> {
    return this.request('GET', '/admin/schedulers');
  }

  pauseScheduler(name: string, pause: boolean): Promise<{ name: string; paused: boolean; changed: boolean }> {
    return this.request('POST', `/admin/schedulers/${encodeURIComponent(name)}/${pause ? 'pause' : 'resume'}`);
  }

  /**
   * Polls the operator until it ends (the scheduler ends every operator: done, cancelled, or
   * timed out when a step makes no progress); `progress` sees every answer.
   */
  async waitOperator(id: number, progress: (op: AdminOperator) => void, pollMs = 200): Promise<AdminOperator> {
    for (;;) {
      const op = await this.operator(id);
      progress(op);
      if (op.state !== 'running') return op;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
