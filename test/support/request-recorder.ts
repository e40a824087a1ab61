import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One AWS request as it went over the wire: who signed it, for which service, what it asked. */
export interface RecordedRequest {
  /** The access key id of the signature: each function's process signs with its role's name. */
  accessKeyId: string;
  service: string;
  method: string;
  path: string;
  query: URLSearchParams;
  /** SQS's JSON protocol: the operation (`AmazonSQS.SendMessageBatch`) and the body. */
  target?: string;
  body: string;
}

/** What AWS does that the emulator cannot: answered here, recorded like the rest. */
export type StandIn = (request: RecordedRequest) => { status: number; body?: string } | undefined;

/**
 * An HTTP proxy before the emulator that records every request, for the IAM simulation: the
 * functions' AWS_ENDPOINT_URL points here. A stand-in may answer what the emulator has no API for
 * (S3's inventory configuration, Lambda's Invoke).
 */
export class RequestRecorder {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #target: URL;
  readonly #standIn: StandIn;

  private constructor(target: string, standIn: StandIn) {
    this.#target = new URL(target);
    this.#standIn = standIn;
    this.#server = createServer((incoming, outgoing) => {
      this.#handle(incoming).then(
        ({ status, headers, body }) => outgoing.writeHead(status, headers).end(body),
        (error: Error) => outgoing.writeHead(502).end(error.message),
      );
    });
  }

  static async start(target: string, standIn: StandIn = () => undefined): Promise<RequestRecorder> {
    const recorder = new RequestRecorder(target, standIn);
    await new Promise<void>((resolve) => recorder.#server.listen(0, '127.0.0.1', resolve));
    return recorder;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(incoming: IncomingMessage): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const body = Buffer.concat(await incoming.toArray());
    const url = new URL(incoming.url ?? '/', 'http://recorder');
    const credential = /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\//.exec(String(incoming.headers.authorization ?? ''));
    const recorded: RecordedRequest = {
      accessKeyId: credential?.[1] ?? '',
      service: credential?.[2] ?? '',
      method: incoming.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      ...(incoming.headers['x-amz-target'] && { target: String(incoming.headers['x-amz-target']) }),
      body: body.toString('utf8'),
    };
    this.requests.push(recorded);
    const answer = this.#standIn(recorded);
    if (answer) return { status: answer.status, headers: {}, body: Buffer.from(answer.body ?? '') };
    return this.#forward(incoming, body);
  }

  #forward(incoming: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const outgoing = forward(
        { host: this.#target.hostname, port: this.#target.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
        async (response) => {
          const answer = Buffer.concat(await response.toArray());
          const headers = Object.fromEntries(
            Object.entries(response.headers).filter((entry): entry is [string, string | string[]] => entry[1] !== undefined),
          );
          resolve({ status: response.statusCode ?? 502, headers, body: answer });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
