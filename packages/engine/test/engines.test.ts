import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine, EngineError, Engines } from '../src/index.js';
import { b, str, withTempDir } from './helpers.js';

describe('engines: the kv and raft databases of a store', () => {
  it('creates dataDir/kv and dataDir/raft, two independent databases that persist', async () => {
    await withTempDir(async (dir) => {
      const dataDir = join(dir, 'store-1');
      const en = await Engines.open(dataDir);
      assert.equal(en.kv.path, join(dataDir, 'kv'));
      assert.equal(en.raft.path, join(dataDir, 'raft'));
      for (const sub of ['kv', 'raft']) assert.ok((await stat(join(dataDir, sub, 'CURRENT'))).isFile(), sub);
      await en.kv.write(en.kv.writeBatch().put('default', b('k'), b('kv')), { sync: false });
      await en.raft.write(en.raft.writeBatch().put('raft', b('k'), b('raft')));
      assert.equal(await en.raft.get('default', b('k')), undefined);
      assert.equal(await en.kv.get('raft', b('k')), undefined);
      await en.close();
      await en.close();
      assert.ok(en.kv.closed && en.raft.closed);

      const again = await Engines.open(dataDir, { sync: false });
      try {
        assert.equal(again.kv.syncByDefault, false);
        assert.equal(str(await again.kv.get('default', b('k'))), 'kv');
        assert.equal(str(await again.raft.get('raft', b('k'))), 'raft');
      } finally {
        await again.close();
      }
    });
  });

  it('if the raft engine cannot open, the kv engine is closed again (its lock released)', async () => {
    await withTempDir(async (dir) => {
      const holder = await Engine.open(join(dir, 'raft'));
      try {
        const err = await Engines.open(dir).catch((x: unknown) => x);
        assert.ok(err instanceof EngineError && err.code === 'LOCKED', String(err));
        const kv = await Engine.open(join(dir, 'kv')); // would be LOCKED had the failed open leaked it
        await kv.close();
      } finally {
        await holder.close();
      }
    });
  });
});
