#!/usr/bin/env node
// Committed launcher of the tinykv command: npm links a workspace's bins at install time only if the
// file exists, and dist/ does not exist until the build, so the bin is this file, which loads the
// compiled command.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = fileURLToPath(new URL('../dist/bin/tinykv.js', import.meta.url));
if (!existsSync(target)) {
  console.error('tinykv is not built yet: run `npm run build` (or `npm start`) in the repository first');
  process.exit(1);
}
await import(target);
