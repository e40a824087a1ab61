import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { s3Error } from './s3-error.ts';

type Release = () => void;
const releases = new WeakMap<FastifyRequest, Release>();

/**
 * Gives the emulator S3's conditional writes, which fauxqs 2.4.1 accepts but does not enforce:
 * a PutObject with `If-None-Match: *` fails with 412 when the key exists, one with `If-Match`
 * fails with 412 when the ETag differs (404 when the key is missing). Writes to one key are
 * serialised while a condition is checked, so the check and the write are atomic, as in S3.
 */
export function enforceConditionalWrites(app: FastifyInstance): void {
  const tails = new Map<string, Promise<void>>();

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const ifNoneMatch = request.headers['if-none-match'];
    const ifMatch = request.headers['if-match'];
    if (request.method !== 'PUT' || (ifNoneMatch === undefined && ifMatch === undefined)) return;
    const [path = '', query = ''] = request.url.split('?');
    if (/(^|&)(partNumber|uploadId)=/.test(query) || path.split('/').filter(Boolean).length < 2) return;

    // Wait for the writes to this key queued before this one, then hold the key until answered.
    const previous = tails.get(path) ?? Promise.resolve();
    let release: Release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => held);
    tails.set(path, tail);
    releases.set(request, () => {
      release();
      if (tails.get(path) === tail) tails.delete(path);
    });
    await previous;

    const head = await app.inject({ method: 'HEAD', url: path });
    const exists = head.statusCode === 200;
    const etag = String(head.headers.etag ?? '');
    if (ifNoneMatch === '*' && exists) {
      return s3Error(reply, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    if (ifMatch !== undefined && !exists) return s3Error(reply, 404, 'NoSuchKey', 'The specified key does not exist.');
    if (ifMatch !== undefined && unquote(String(ifMatch)) !== unquote(etag)) {
      return s3Error(reply, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
  });

  app.addHook('onResponse', async (request: FastifyRequest) => {
    releases.get(request)?.();
    releases.delete(request);
  });
}

function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replaceAll('"', '');
}
