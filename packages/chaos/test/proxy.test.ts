// FaultProxy over real sockets: bytes pass in order, delay holds them, a partition starves the
// connection silently and healing resets it (a stream with a hole is never delivered).
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { Prng } from '@tskv/util';
import { FaultProxy } from '../src/index.js';

let echo: Server;
let echoPort = 0;

before(async () => {
  echo = createServer((s) => {
    s.on('error', () => {}); // the proxy resets connections on purpose
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
});
after(() => echo.close());

function dial(addr: string): Promise<Socket> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Collects what arrives until `n` bytes are in, or `ms` pass. */
function receive(s: Socket, n: number, ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (): void => {
      clearTimeout(t);
      s.off('data', on);
      resolve(Buffer.concat(chunks));
    };
    const on = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got >= n) done();
    };
    const t = setTimeout(done, ms);
    s.on('data', on);
  });
}

const newProxy = async (): Promise<FaultProxy> => {
  const p = new FaultProxy('t', () => ({ host: '127.0.0.1', port: echoPort }), new Prng(7));
  await p.start();
  return p;
};

test('bytes go through in order, with loss and jitter too', async () => {
  const p = await newProxy();
  p.set({ delayMs: 5, jitterMs: 5, lossRate: 0.3, retransmitMs: 20 });
  const s = await dial(p.address);
  const want = Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const b = Buffer.from(`chunk-${i};`);
    parts.push(b);
    s.write(b);
    await new Promise((r) => setTimeout(r, 1));
  }
  const all = Buffer.concat([want, ...parts]);
  const got = await receive(s, all.length, 5000);
  assert.equal(got.toString(), all.toString());
  s.destroy();
  await p.stop();
});

test('delay holds bytes for at least delayMs', async () => {
  const p = await newProxy();
  p.set({ delayMs: 150 });
  const s = await dial(p.address);
  const t0 = performance.now();
  s.write('ping');
  const got = await receive(s, 4, 3000);
  const elapsed = performance.now() - t0;
  assert.equal(got.toString(), 'ping');
  // Both directions are delayed: the echo comes back after two one-way delays.
  assert.ok(elapsed >= 290, `echo after ${elapsed.toFixed(0)} ms`);
  s.destroy();
  await p.stop();
});

test('a partition drops bytes silently; healing resets the connection, new ones work', async () => {
  const p = await newProxy();
  const s = await dial(p.address);
  s.write('a');
  assert.equal((await receive(s, 1, 2000)).toString(), 'a');
  p.set({ partitioned: true });
  let closed = false;
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  s.write('lost');
  assert.equal((await receive(s, 1, 300)).length, 0, 'nothing crosses a partition');
  assert.equal(closed, false, 'the sender is not told (a silent partition)');
  assert.ok(p.stats.bytesDropped >= 4);
  p.heal();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(closed, true, 'a connection that lost bytes is reset when the link heals');
  const s2 = await dial(p.address);
  s2.write('b');
  assert.equal((await receive(s2, 1, 2000)).toString(), 'b');
  s2.destroy();
  await p.stop();
});
