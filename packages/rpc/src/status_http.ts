// The HTTP status servers (/metrics, /status, /admin/...) of stores and the scheduler, and their
// clients, under the same security settings as the gRPC services:
//
//   const server = createStatusServer(tls, (req, res) => ...);     // http, or https with mutual TLS
//   const r = await statusFetch('127.0.0.1:2380', '/status', { tls }); // r.status, r.text, r.json()
//
// TLS on: HTTPS requiring a client certificate signed by the CA (no certificate, or another CA's:
// the handshake fails), and with cert-allowed-cn, 403 for any other Common Name before a route
// runs ({"error": "..."}). TLS off: plain HTTP. See docs/security.md.
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { TlsConfig } from './tls.js';

export type StatusHttpServer = http.Server | https.Server;

/** The message a refused Common Name gets (the same words as the gRPC services' refusal). */
function cnRefusal(cn: string, allowed: readonly string[]): string {
  return `client certificate CN ${cn ? `'${cn}'` : '(none)'} is not allowed (cert-allowed-cn: ${allowed.join(',')})`;
}

/**
 * A status server (not yet listening): plain HTTP without TLS; with TLS, HTTPS that requires and
 * verifies a client certificate, and answers 403 to a Common Name not in tls.allowedCn (when
 * set) without calling `handler`.
 */
export function createStatusServer(tls: TlsConfig | null | undefined, handler: http.RequestListener): StatusHttpServer {
  if (!tls) return http.createServer(handler);
  const allowed = new Set(tls.allowedCn);
  const checked: http.RequestListener =
    allowed.size === 0
      ? handler
      : (req, res) => {
          const subject = (req.socket as TLSSocket).getPeerCertificate().subject;
          const raw = subject?.CN;
          const cn = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
          if (allowed.has(cn)) return handler(req, res);
          // JSON as the scheduler's own errors, so the admin client shows the reason.
          const body = `${JSON.stringify({ error: cnRefusal(cn, tls.allowedCn) })}\n`;
          res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        };
  const server = https.createServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true }, checked);
  // A failed handshake (plain HTTP, no or a foreign client certificate) only ends that socket.
  server.on('tlsClientError', (_e, socket) => socket.destroy());
  return server;
}

/** The scheme of the status pages of a process with these settings. */
export function statusScheme(tls: TlsConfig | null | undefined): 'http' | 'https' {
  return tls ? 'https' : 'http';
}

/** The URL of a status page: `addr` is host:port (https when tls is given) or already a URL. */
export function statusUrl(addr: string, path = '/', tls?: TlsConfig | null): URL {
  const base = /^https?:\/\//.test(addr) ? addr : `${statusScheme(tls)}://${addr}`;
  return new URL(path, base);
}

export interface StatusFetchOptions {
  /** The CA, and the certificate and key presented (mutual TLS); null or omitted: plain HTTP. */
  tls?: TlsConfig | null;
  method?: string;
  /** Sent as JSON (a string or Buffer as it is). */
  body?: unknown;
  /** For the whole request. Default 10 s. */
  timeoutMs?: number;
}

export interface StatusResponse {
  status: number;
  contentType: string;
  text: string;
  json<T = unknown>(): T;
}

/**
 * One request to a status server (http or https by `tls`, or by the URL given). Resolves with
 * any HTTP answer, whatever its status; rejects when there is none (refused, handshake failed,
 * timed out) with an error naming the URL.
 */
export function statusFetch(addr: string, path: string, opts: StatusFetchOptions = {}): Promise<StatusResponse> {
  const url = statusUrl(addr, path, opts.tls);
  const secure = url.protocol === 'https:';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const data =
    opts.body === undefined
      ? undefined
      : typeof opts.body === 'string' || Buffer.isBuffer(opts.body)
        ? Buffer.from(opts.body)
        : Buffer.from(JSON.stringify(opts.body));
  const headers: http.OutgoingHttpHeaders = data ? { 'content-type': 'application/json', 'content-length': data.length } : {};
  const tlsOpts = secure && opts.tls ? { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key } : {};
  return new Promise<StatusResponse>((resolve, reject) => {
    // agent: false: one connection per request; nothing pooled outlives the caller.
    const req = (secure ? https : http).request(url, { method: opts.method ?? 'GET', headers, agent: false, ...tlsOpts }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => req.destroy(e));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          text,
          json: <T>() => JSON.parse(text) as T,
        });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const reset = e.code === 'ECONNRESET' || e.code === 'HPE_INVALID_CONSTANT';
      const hint = !reset
        ? ''
        : secure
          ? " (the server refused this client's certificate? it must be signed by the server's CA)"
          : ' (plain HTTP: is TLS on there? then give the CA, certificate and key)';
      reject(new Error(`${opts.method ?? 'GET'} ${url.href}: ${e.message}${hint}`, { cause: e }));
    });
    req.end(data);
  });
}
