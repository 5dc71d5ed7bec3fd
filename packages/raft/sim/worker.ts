// Worker thread body for runRangeParallel: runs seeds start, start+stride, ... below end.
import { parentPort, workerData } from 'node:worker_threads';
import { type RangeOptions, runOne } from './runner.js';

const o = workerData as RangeOptions & { start: number; end: number; stride: number };
for (let s = o.start; s < o.end; s += o.stride) parentPort!.postMessage(runOne(s, o));
