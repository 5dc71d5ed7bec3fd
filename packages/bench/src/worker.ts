// A load generator thread: makes its own connections from the job (workerData), then follows the
// main thread's messages: start, measure, endMeasure, stop (answers its LoopsResult).
import { parentPort, workerData } from 'node:worker_threads';
import { isTxnWorkload } from './args.js';
import { closeConns, loopsOf, type ThreadJob } from './runner.js';
import { connectTarget } from './targets.js';

const job = workerData as ThreadJob;
const port = parentPort!;
try {
  const conns = await connectTarget(job.target, job.connections, job.firstConnection, isTxnWorkload(job.workload));
  const loops = loopsOf(job, conns);
  port.on('message', (m: string) => {
    if (m === 'start') loops.start();
    else if (m === 'measure') loops.measure();
    else if (m === 'endMeasure') loops.endMeasure();
    else if (m === 'stop') {
      void loops.stop().then(
        async (result) => {
          await closeConns(conns);
          port.postMessage({ type: 'result', result });
        },
        (e: unknown) => port.postMessage({ type: 'error', error: String(e) }),
      );
    }
  });
  port.postMessage({ type: 'ready' });
} catch (e) {
  port.postMessage({ type: 'error', error: String((e as Error).message ?? e) });
}
