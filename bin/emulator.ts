import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { commandLine } from '../lib/cli/command-line.ts';
import { wholeNumberOption } from '../lib/cli/options.ts';
import { createAwsClients } from '../lib/core/aws-clients.ts';
import { emulatorEnvironment, serveEmulator } from '../lib/local/emulator.ts';
import { createFifoQueue } from '../lib/local/demo.ts';

// `npm run emulator`: S3 + SQS on 127.0.0.1 for manual use with the AWS CLI, this project's CLI
// or `sls invoke local`; --bucket and --queue create resources to start with.
const values = commandLine(
  {
    command: 'npm run emulator --',
    summary: 'Starts the S3 + SQS emulator on 127.0.0.1 for manual use, and prints the variables to export.',
    options: {
      port: { type: 'string', default: '4566', description: 'port to listen on (0: any free port)' },
      bucket: { type: 'string', multiple: true, default: [], description: 'a bucket to create (repeatable)' },
      queue: {
        type: 'string',
        multiple: true,
        default: [],
        description: 'a queue to create (repeatable; a name ending in .fifo makes a FIFO queue)',
      },
    },
  },
  (raw) => ({ ...raw, port: wholeNumberOption('port', raw.port, 0) }),
);
const emulator = await serveEmulator(values.port);
const { s3, sqs } = createAwsClients({ concurrency: 4, endpointUrl: emulator.endpoint });
Object.assign(process.env, emulatorEnvironment(emulator.endpoint));
for (const bucket of values.bucket) {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  console.log(`bucket s3://${bucket}`);
}
for (const name of values.queue) {
  const url = name.endsWith('.fifo')
    ? await createFifoQueue(sqs, name)
    : (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl;
  console.log(`queue ${url}`);
}
console.log(`S3 and SQS emulator listening on ${emulator.endpoint}. In another shell:`);
for (const [name, value] of Object.entries(emulatorEnvironment(emulator.endpoint))) console.log(`  export ${name}=${value}`);
console.log('Stop with Ctrl-C.');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void emulator.stop());
}
