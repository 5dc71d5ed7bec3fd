// Mutual TLS of every gRPC service and client of the product (TiKV's [security] section): the
// CA that signs every certificate, this process's certificate and key (served by its servers and
// presented by its clients), and an optional allow-list of the Common Names of callers.
//
//   const tls = loadTls({ caPath, certPath, keyPath, certAllowedCn });   // null: plaintext
//   new grpc.Server(secureServerOptions(tls)); server.bindAsync(addr, serverCredentials(tls), ...)
//   new PdClient(addr, { credentials: channelCredentials(tls) })
//
// All three of ca/cert/key given: TLS on, client certificates required and verified against the
// CA. None: plaintext. Some: TlsConfigError. See docs/security.md.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { serverOptions } from './services.js';

/** Where the security settings come from: file paths or the PEM contents themselves (contents win). */
export interface TlsOptions {
  caPath?: string;
  certPath?: string;
  keyPath?: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Common Names a caller's certificate may have (servers only); empty or absent: any CN the CA signed. */
  certAllowedCn?: readonly string[];
}

/** Loaded security settings: TLS is on. */
export interface TlsConfig {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** Common Names allowed to call this process's services; empty: any certificate of the CA. */
  allowedCn: readonly string[];
}

export class TlsConfigError extends Error {
  override name = 'TlsConfigError';
}

/** Splits "a,b, c" into ['a', 'b', 'c'] (empty items dropped). */
export function parseCnList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/** The keys of a config file's "security" object. */
export const SECURITY_KEYS = ['caPath', 'certPath', 'keyPath', 'certAllowedCn'] as const;

/**
 * Validates the "security" object of a config file: { caPath, certPath, keyPath: strings,
 * certAllowedCn: an array of strings or a comma-separated string }. Unknown keys are errors.
 * Does not read the files (loadTls does).
 */
export function parseSecuritySection(v: unknown, source = 'security'): TlsOptions {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new TlsConfigError(`${source}: 'security' must be an object with ${SECURITY_KEYS.join(', ')}`);
  const out: TlsOptions = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === 'certAllowedCn') {
      if (typeof x === 'string') out.certAllowedCn = parseCnList(x);
      else if (Array.isArray(x) && x.every((c) => typeof c === 'string')) out.certAllowedCn = x as string[];
      else throw new TlsConfigError(`${source}: 'security.certAllowedCn' must be an array of strings or "a,b", got ${JSON.stringify(x)}`);
    } else if (k === 'caPath' || k === 'certPath' || k === 'keyPath') {
      if (typeof x !== 'string') throw new TlsConfigError(`${source}: 'security.${k}' must be a string, got ${JSON.stringify(x)}`);
      out[k] = x;
    } else {
      throw new TlsConfigError(`${source}: unknown key 'security.${k}' (expected ${SECURITY_KEYS.join(', ')})`);
    }
  }
  return out;
}

/**
 * Loads the security settings: null when none of ca/cert/key is given (plaintext), a TlsConfig
 * when all three are, a TlsConfigError naming what is missing or unreadable otherwise (also when
 * an allow-list is given without TLS).
 */
export function loadTls(o: TlsOptions | null | undefined, source = 'security'): TlsConfig | null {
  if (!o) return null;
  const parts = [
    ['ca', 'caPath', o.ca, o.caPath],
    ['cert', 'certPath', o.cert, o.certPath],
    ['key', 'keyPath', o.key, o.keyPath],
  ] as const;
  const given = parts.filter(([, , v, p]) => (v !== undefined && v !== '') || !!p);
  const allowedCn = [...(o.certAllowedCn ?? [])].map((x) => x.trim()).filter((x) => x.length > 0);
  if (given.length === 0) {
    if (allowedCn.length) throw new TlsConfigError(`${source}: certAllowedCn needs TLS: give caPath, certPath and keyPath too`);
    return null;
  }
  if (given.length < 3) {
    const missing = parts.filter((p) => !given.includes(p)).map(([, path]) => path);
    throw new TlsConfigError(`${source}: caPath, certPath and keyPath must be given together (missing: ${missing.join(', ')})`);
  }
  const read = (what: string, v: string | Buffer | undefined, path: string | undefined): Buffer => {
    if (v !== undefined && v !== '') return Buffer.isBuffer(v) ? v : Buffer.from(v);
    try {
      return readFileSync(path!);
    } catch (e) {
      throw new TlsConfigError(`${source}: cannot read ${what} ${path}: ${(e as Error).message}`);
    }
  };
  const [ca, cert, key] = parts.map(([what, , v, p]) =>
    read(what === 'ca' ? 'CA certificate' : what === 'cert' ? 'certificate' : 'key', v, p),
  ) as [Buffer, Buffer, Buffer];
  for (const [what, b] of [
    ['CA certificate', ca],
    ['certificate', cert],
  ] as const) {
    if (!b.includes('-----BEGIN CERTIFICATE-----')) throw new TlsConfigError(`${source}: the ${what} is not a PEM certificate`);
  }
  if (!key.includes('PRIVATE KEY-----')) throw new TlsConfigError(`${source}: the key is not a PEM private key`);
  return { ca, cert, key, allowedCn };
}

/** Credentials a server binds with: TLS requiring a client certificate signed by the CA, or insecure. */
export function serverCredentials(tls: TlsConfig | null | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

/** Credentials a client dials with: TLS verifying the server against the CA, presenting this process's certificate; or insecure. */
export function channelCredentials(tls: TlsConfig | null | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** The Common Name of a verified peer certificate ('' if none). */
function peerCn(call: grpc.ServerInterceptingCallInterface): string {
  const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
  return Array.isArray(cn) ? cn.join(',') : (cn ?? '');
}

/**
 * A server interceptor refusing, with UNAUTHENTICATED, every call whose client certificate's
 * Common Name is not in `allowed`. It runs when the call's metadata arrives, before any handler
 * (unary or streaming) sees the call.
 */
export function allowedCnInterceptor(allowed: readonly string[]): grpc.ServerInterceptor {
  const set = new Set(allowed);
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, mdNext) => {
            const cn = peerCn(call);
            if (set.has(cn)) return mdNext(md);
            call.sendStatus({
              code: grpc.status.UNAUTHENTICATED,
              details: `client certificate CN ${cn ? `'${cn}'` : '(none)'} is not allowed (cert-allowed-cn: ${[...set].join(',')})`,
              metadata: new grpc.Metadata(),
            });
          },
        }),
    });
}

/** The product's serverOptions(), with the CN check when TLS has an allow-list. */
export function secureServerOptions(tls: TlsConfig | null | undefined): grpc.ServerOptions {
  const o = serverOptions();
  if (tls && tls.allowedCn.length > 0) o.interceptors = [allowedCnInterceptor(tls.allowedCn)];
  return o;
}
