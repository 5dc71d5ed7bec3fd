// Compiles every ../../proto/*.proto into one static protobufjs module (dist/protos.js + .d.ts).
// 64-bit integers are generated as JS numbers (--force-number): terms, indexes and ids stay
// far below 2^53, and numbers keep the raft hot path free of Long allocations.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const protoDir = join(here, '..', '..', '..', 'proto');
const dist = join(here, '..', 'dist');
const require = createRequire(import.meta.url);
const cliDir = dirname(require.resolve('protobufjs-cli/package.json'));
const pbjs = join(cliDir, 'bin', 'pbjs');
const pbts = join(cliDir, 'bin', 'pbts');

const protos = readdirSync(protoDir)
  .filter((f) => f.endsWith('.proto'))
  .sort()
  .map((f) => join(protoDir, f));
mkdirSync(dist, { recursive: true });
const out = join(dist, 'protos.js');
execFileSync(
  process.execPath,
  [pbjs, '-t', 'static-module', '-w', 'es6', '--force-number', '--es6', '-p', protoDir, '-o', out, ...protos],
  { stdio: 'inherit' },
);
execFileSync(process.execPath, [pbts, '-o', join(dist, 'protos.d.ts'), out], { stdio: 'inherit' });
// protobufjs decodes 64-bit fields (and builds their prototype defaults) as Long objects whenever
// the long package is present; dropping Long before protos.js is evaluated makes them plain
// numbers, matching the generated types. ES modules evaluate imports in order, so no-long.js
// runs first.
writeFileSync(
  join(dist, 'no-long.js'),
  "import $protobuf from 'protobufjs/minimal.js';\n$protobuf.util.Long = undefined;\n$protobuf.configure();\n",
);
writeFileSync(join(dist, 'index.js'), "import './no-long.js';\nexport * from './protos.js';\n");
writeFileSync(join(dist, 'index.d.ts'), "export * from './protos.js';\n");
console.log(`generated ${protos.length} proto file(s) into ${dist}`);
