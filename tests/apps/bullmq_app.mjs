// BullMQ (unmodified, from npm) against a server on the port given as
// argv[2] (logged in as the user and password of argv[3] and argv[4]
// when given): a queue, a worker, a delayed job and a failing job retried
// with backoff. Prints one line per check; exits 1 on a failure.
import { Queue, Worker, QueueEvents } from 'bullmq';

const connection = { host: '127.0.0.1', port: Number(process.argv[2]), maxRetriesPerRequest: null };
// A user and password when the server has its default user off.
if (process.argv.length > 4) {
  connection.username = process.argv[3];
  connection.password = process.argv[4];
}
let checks = 0;
let failures = 0;
function check(name, ok) {
  checks += 1;
  if (!ok) failures += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
}

const queue = new Queue('respd-test', { connection });
await queue.obliterate({ force: true });
const events = new QueueEvents('respd-test', { connection });
await events.waitUntilReady();

const attemptsSeen = [];
const worker = new Worker(
  'respd-test',
  async (job) => {
    if (job.name === 'fail') {
      attemptsSeen.push(job.attemptsMade);
      throw new Error(`broken ${job.data.n}`);
    }
    return { doubled: job.data.n * 2 };
  },
  { connection, concurrency: 2 },
);

const finished = (job) => job.waitUntilFinished(events, 20000).then(
  (value) => ({ value }),
  (error) => ({ error: error.message }),
);

const plain = await queue.add('double', { n: 21 });
const delayedAt = Date.now();
const delayed = await queue.add('double', { n: 5 }, { delay: 500 });
const failing = await queue.add('fail', { n: 7 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });

check('delayed job waits in the delayed set', (await delayed.getState()) === 'delayed');
const [plainResult, delayedResult, failingResult] = await Promise.all([
  finished(plain), finished(delayed), finished(failing),
]);
check('plain job completes with its return value', JSON.stringify(plainResult) === '{"value":{"doubled":42}}');
check('delayed job completes with its return value', JSON.stringify(delayedResult) === '{"value":{"doubled":10}}');
const delayedJob = await queue.getJob(delayed.id);
check('delayed job ran after its delay', delayedJob.processedOn - delayedAt >= 500);
check('failing job fails with its error', failingResult.error === 'broken 7');
const failedJob = await queue.getJob(failing.id);
check('failing job was tried 3 times', failedJob.attemptsMade === 3 && JSON.stringify(attemptsSeen) === '[0,1,2]');
check('failing job is in the failed set', (await failedJob.getState()) === 'failed');
const counts = await queue.getJobCounts('completed', 'failed', 'delayed', 'wait', 'active');
check('job counts', JSON.stringify(counts) === '{"completed":2,"failed":1,"delayed":0,"wait":0,"active":0}');

await worker.close();
await events.close();
await queue.obliterate({ force: true });
await queue.close();
console.log(`bullmq: ${checks - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
