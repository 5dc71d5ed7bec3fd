// A TinyKv client that sends and receives raw bytes: the product's method paths with identity
// serialization (makeGenericClientConstructor), so tests can put any bytes on the wire.
import * as grpc from '@grpc/grpc-js';
import { tinyKvService } from '@tskv/rpc';

const id = (b: Buffer): Buffer => b;

/** tinyKvService's paths and stream shapes, with bytes in and out. */
const RAW_DEFINITION: grpc.ServiceDefinition = Object.fromEntries(
  Object.entries(tinyKvService).map(([k, m]) => [
    k,
    { ...m, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
  ]),
);
const RawCtor = grpc.makeGenericClientConstructor(RAW_DEFINITION, 'TinyKvRaw');

export type Outcome = { err: grpc.ServiceError | null; responses: Buffer[] };
export type MethodName = keyof typeof tinyKvService;
export const UNARY_METHODS = ['rawGet', 'rawPut', 'rawDelete', 'rawScan', 'rawBatchGet', 'rawBatchPut'] as const;
export const CLIENT_STREAM_METHODS = ['raft', 'batchRaft', 'snapshot'] as const;

export class RawTinyKv {
  private readonly c: grpc.Client & Record<string, (...a: unknown[]) => unknown>;

  constructor(addr: string) {
    this.c = new RawCtor(addr, grpc.credentials.createInsecure()) as unknown as RawTinyKv['c'];
  }

  unary(method: (typeof UNARY_METHODS)[number], bytes: Buffer, timeoutMs = 5000): Promise<Outcome> {
    return new Promise((resolve) => {
      this.c[method]!(bytes, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res?: Buffer) =>
        resolve({ err, responses: res ? [res] : [] }),
      );
    });
  }

  /** Writes every frame then ends; resolves with the call's outcome. */
  clientStream(method: (typeof CLIENT_STREAM_METHODS)[number], frames: Buffer[], timeoutMs = 5000): Promise<Outcome> {
    return new Promise((resolve) => {
      const s = this.c[method]!({ deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res?: Buffer) =>
        resolve({ err, responses: res ? [res] : [] }),
      ) as grpc.ClientWritableStream<Buffer>;
      s.on('error', () => undefined);
      for (const f of frames) s.write(f);
      s.end();
    });
  }

  /** BatchCommands: writes every frame, ends, and collects response frames until the server ends. */
  batchCommands(frames: Buffer[], timeoutMs = 5000): Promise<Outcome> {
    return new Promise((resolve) => {
      const responses: Buffer[] = [];
      const s = this.c.batchCommands!({ deadline: Date.now() + timeoutMs }) as grpc.ClientDuplexStream<Buffer, Buffer>;
      let done = false;
      const finish = (err: grpc.ServiceError | null): void => {
        if (done) return;
        done = true;
        resolve({ err, responses });
      };
      s.on('data', (b: Buffer) => responses.push(b));
      s.on('error', (e: grpc.ServiceError) => finish(e));
      s.on('status', (st: grpc.StatusObject) =>
        finish(st.code === grpc.status.OK ? null : (Object.assign(new Error(st.details), st) as unknown as grpc.ServiceError)),
      );
      for (const f of frames) s.write(f);
      s.end();
    });
  }

  close(): void {
    this.c.close();
  }
}
