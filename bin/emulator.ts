import { parseArgs } from 'node:util';
import { emulatorEnvironment, serveEmulator } from '../lib/emulator.ts';

// `npm run emulator`: S3 + SQS on 127.0.0.1 for manual use with the AWS CLI or this project's CLI.
const { values } = parseArgs({ options: { port: { type: 'string', default: '4566' } } });
const emulator = await serveEmulator(Number(values.port));
console.log(`S3 and SQS emulator listening on ${emulator.endpoint}. In another shell:`);
for (const [name, value] of Object.entries(emulatorEnvironment(emulator.endpoint))) console.log(`  export ${name}=${value}`);
console.log('Stop with Ctrl-C.');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void emulator.stop());
}
