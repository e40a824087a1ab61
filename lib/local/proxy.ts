import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** A SendMessageBatch entry as it travels in SQS's JSON protocol. */
interface BatchEntry {
  Id: string;
  [field: string]: unknown;
}

export interface ProxyFaults {
  /** Added before every request is forwarded, as AWS's round trip would add. */
  latencyMs?: number;
  /**
   * HTTP status to answer a SendMessageBatch call with instead of forwarding it: 400 throttling,
   * 403 expired credentials, 5xx an internal error. Sees the call's headers (its signature).
   */
  failRequest?: (headers: IncomingHttpHeaders) => number | undefined;
  /** Entries for which SQS answers "failed" inside a 200 response; the rest reach the emulator. */
  failEntry?: (entry: BatchEntry) => { code: string; senderFault: boolean } | undefined;
  /** Other answers (such as an S3 GetObject) dropped after this many body bytes, mid-stream. */
  cutResponse?: (method: string, path: string) => number | undefined;
  /** Other answers that go silent after this many body bytes: the connection stays open, idle. */
  stallResponse?: (method: string, path: string) => number | undefined;
  /** Other requests carried out by the emulator whose answer is never sent: the client times out. */
  loseAnswer?: (method: string, path: string) => boolean;
  /** SendMessageBatch calls held without an answer (and never forwarded) until the client gives up. */
  holdRequest?: () => boolean;
  /**
   * false: SendMessageBatch calls pass through unread and uncounted, so that the proxy adds its
   * latency at the least CPU (the benchmark, where parsing every batch made it the bottleneck).
   */
  inspectBatches?: boolean;
}

export interface ProxyCounts {
  requests: number;
  sendMessageBatchCalls: number;
  entriesSent: number;
  entriesFailed: number;
  requestsFailed: number;
  requestsHeld: number;
  responsesCut: number;
  responsesStalled: number;
  answersLost: number;
  /** Entries and body bytes of every SendMessageBatch call, in order. */
  batches: Array<{ entries: number; bodyBytes: number }>;
}

export interface EmulatorProxy {
  endpoint: string;
  counts: ProxyCounts;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of the emulator that adds latency and injects faults: whole
 * SendMessageBatch calls answered with an error status or held without an answer, single entries
 * reported in `Failed[]` of a 200 answer, as SQS does, downloads cut off or stalled mid-stream,
 * and writes carried out whose answer never comes. Everything else passes through.
 */
export async function startEmulatorProxy(target: string, faults: ProxyFaults = {}): Promise<EmulatorProxy> {
  const proxy = new FaultProxy(new URL(target), faults);
  const server = createServer((incoming, outgoing) => proxy.handle(incoming, outgoing));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: proxy.counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class FaultProxy {
  readonly counts: ProxyCounts = {
    requests: 0,
    sendMessageBatchCalls: 0,
    entriesSent: 0,
    entriesFailed: 0,
    requestsFailed: 0,
    requestsHeld: 0,
    responsesCut: 0,
    responsesStalled: 0,
    answersLost: 0,
    batches: [],
  };
  readonly #target: URL;
  readonly #faults: ProxyFaults;

  constructor(target: URL, faults: ProxyFaults) {
    this.#target = target;
    this.#faults = faults;
  }

  async handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    try {
      this.counts.requests += 1;
      const body = Buffer.concat(await incoming.toArray());
      if (this.#faults.latencyMs) await sleep(this.#faults.latencyMs);
      if (incoming.headers['x-amz-target'] === 'AmazonSQS.SendMessageBatch' && this.#faults.inspectBatches !== false) {
        await this.#sendMessageBatch(incoming, body, outgoing);
      } else if (this.#faults.loseAnswer?.(incoming.method ?? '', incoming.url ?? '')) {
        await this.#loseAnswer(incoming, body, outgoing);
      } else {
        await this.#passThrough(incoming, body, outgoing);
      }
    } catch (error) {
      if (outgoing.headersSent) outgoing.destroy(error as Error);
      else reply(outgoing, 502, { 'content-type': 'text/plain' }, Buffer.from(`proxy error: ${(error as Error).message}`));
    }
  }

  async #sendMessageBatch(incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse): Promise<void> {
    const request = JSON.parse(body.toString('utf8')) as { Entries: BatchEntry[] };
    this.#count(request.Entries);
    if (this.#faults.holdRequest?.()) {
      this.counts.requestsHeld += 1;
      await new Promise((resolve) => outgoing.once('close', resolve));
      return;
    }
    const status = this.#faults.failRequest?.(incoming.headers);
    if (status !== undefined) {
      this.counts.requestsFailed += 1;
      const type = status === 400 ? 'ThrottlingException' : status === 403 ? 'ExpiredToken' : 'InternalError';
      const error = JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message: `injected ${status}` });
      reply(outgoing, status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${type};Sender` }, Buffer.from(error));
      return;
    }
    const failed: Array<Record<string, unknown>> = [];
    const passed = request.Entries.filter((entry) => {
      const fault = this.#faults.failEntry?.(entry);
      if (fault) failed.push({ Id: entry.Id, Code: fault.code, SenderFault: fault.senderFault, Message: 'injected fault' });
      return !fault;
    });
    this.counts.entriesFailed += failed.length;
    let result: { Successful?: unknown[]; Failed?: unknown[] } = { Successful: [], Failed: [] };
    if (passed.length > 0) {
      const answer = await this.#forward(incoming, Buffer.from(JSON.stringify({ ...request, Entries: passed })));
      if (answer.status !== 200) {
        reply(outgoing, answer.status, answer.headers, answer.body);
        return;
      }
      result = JSON.parse(answer.body.toString('utf8'));
    }
    const merged = JSON.stringify({ Successful: result.Successful ?? [], Failed: [...(result.Failed ?? []), ...failed] });
    reply(outgoing, 200, { 'content-type': 'application/x-amz-json-1.0' }, Buffer.from(merged));
  }

  #count(entries: BatchEntry[]): void {
    this.counts.sendMessageBatchCalls += 1;
    this.counts.entriesSent += entries.length;
    this.counts.batches.push({
      entries: entries.length,
      bodyBytes: entries.reduce((total, entry) => total + Buffer.byteLength(String(entry.MessageBody)), 0),
    });
  }

  #upstream(incoming: IncomingMessage, body: Buffer): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers = { ...incoming.headers, host: this.#target.host, 'content-length': String(body.length) };
      const outgoing = httpRequest(
        { host: this.#target.hostname, port: this.#target.port, method: incoming.method, path: incoming.url, headers },
        resolve,
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  /** The request is carried out, and its answer never sent: the client waits until it gives up. */
  async #loseAnswer(incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse): Promise<void> {
    await this.#forward(incoming, body);
    this.counts.answersLost += 1;
    await new Promise((resolve) => outgoing.once('close', resolve));
  }

  /** Streams the emulator's answer back: large GetObject bodies are never held here. */
  async #passThrough(incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse): Promise<void> {
    const response = await this.#upstream(incoming, body);
    outgoing.writeHead(response.statusCode ?? 502, response.headers);
    const cutAt = this.#faults.cutResponse?.(incoming.method ?? '', incoming.url ?? '');
    const stallAt = cutAt === undefined ? this.#faults.stallResponse?.(incoming.method ?? '', incoming.url ?? '') : undefined;
    const limit = cutAt ?? stallAt;
    if (limit === undefined) {
      await pipeline(response, outgoing);
      return;
    }
    const stop = truncate(response, limit, cutAt !== undefined);
    if (cutAt !== undefined) this.counts.responsesCut += 1;
    else this.counts.responsesStalled += 1;
    if (stallAt !== undefined) {
      outgoing.flushHeaders();
      response.pipe(stop).pipe(outgoing, { end: false });
      await new Promise((resolve) => outgoing.once('close', resolve));
      return;
    }
    await pipeline(response, stop, outgoing);
  }

  async #forward(incoming: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const response = await this.#upstream(incoming, body);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && name !== 'transfer-encoding' && name !== 'connection') {
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
    }
    return { status: response.statusCode ?? 502, headers, body: Buffer.concat(await response.toArray()) };
  }
}

/** Passes `limit` bytes of `response` on, then fails (`cut`) or goes silent, leaving the connection open. */
function truncate(response: IncomingMessage, limit: number, cut: boolean): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const room = limit - sent;
      sent += chunk.length;
      if (sent <= limit) return done(null, chunk);
      this.push(chunk.subarray(0, Math.max(room, 0)));
      if (cut) return done(new Error(`connection cut by the proxy after ${limit} bytes`));
      // Silent from here on: nothing more is sent, and the connection is left open.
      response.unpipe(this);
      response.destroy();
      done();
    },
  });
}

function reply(outgoing: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): void {
  outgoing.writeHead(status, { ...headers, 'content-length': String(body.length) });
  outgoing.end(body);
}
