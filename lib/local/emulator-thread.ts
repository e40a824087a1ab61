import { parentPort, workerData } from 'node:worker_threads';
import { serveEmulator } from './emulator.ts';

// Entry point of the worker thread started by startEmulator(): serve, then report the port.
const emulator = await serveEmulator((workerData as { port: number }).port);
parentPort?.postMessage(emulator.port);
