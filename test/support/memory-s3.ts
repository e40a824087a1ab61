import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

/** An S3 error as the SDK raises it: a name and the HTTP status. */
function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

/**
 * The four S3 calls a run's state makes (PutObject with its conditions, GetObject,
 * ListObjectsV2), kept in memory and counted: for unit tests of how many requests an algorithm
 * makes at a scale where a real emulator would take minutes. Behaviour tests use the emulator.
 */
export class MemoryS3 {
  readonly objects = new Map<string, { body: string; etag: string }>();
  readonly calls = new Map<string, number>();
  /** `bucket/key` of every object, in order: a listing is a binary search and a slice. */
  readonly #sorted: string[] = [];

  get requests(): number {
    return [...this.calls.values()].reduce((sum, count) => sum + count, 0);
  }

  asClient(): S3Client {
    return this as unknown as S3Client;
  }

  async send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, '');
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    await Promise.resolve();
    const { Bucket, Key } = command.input as { Bucket: string; Key: string };
    const id = `${Bucket}/${Key}`;
    if (name === 'PutObject') return this.#put(id, command.input);
    if (name === 'GetObject') {
      const stored = this.objects.get(id);
      if (!stored) throw s3Error('NoSuchKey', 404);
      return { ETag: stored.etag, Body: { transformToString: async () => stored.body } };
    }
    if (name === 'ListObjectsV2') return this.#list(Bucket, command.input);
    throw new Error(`MemoryS3 does not answer ${name}`);
  }

  #put(id: string, input: Record<string, unknown>): { ETag: string } {
    const existing = this.objects.get(id);
    if (input.IfNoneMatch === '*' && existing) throw s3Error('PreconditionFailed', 412);
    if (input.IfMatch !== undefined && existing?.etag !== input.IfMatch) throw s3Error('PreconditionFailed', existing ? 412 : 404);
    const body = String(input.Body);
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    if (!existing) this.#sorted.splice(this.#firstAbove(id, true), 0, id);
    this.objects.set(id, { body, etag });
    return { ETag: etag };
  }

  #list(bucket: string, input: Record<string, unknown>): unknown {
    const prefix = `${bucket}/${(input.Prefix as string | undefined) ?? ''}`;
    const after = `${bucket}/${(input.ContinuationToken as string | undefined) ?? (input.StartAfter as string | undefined) ?? ''}`;
    const maxKeys = (input.MaxKeys as number | undefined) ?? 1_000;
    const page: string[] = [];
    let index = Math.max(this.#firstAbove(prefix, true), this.#firstAbove(after, false));
    for (; index < this.#sorted.length && page.length < maxKeys; index += 1) {
      const id = this.#sorted[index] as string;
      if (!id.startsWith(prefix)) break;
      page.push(id);
    }
    const truncated = index < this.#sorted.length && (this.#sorted[index] as string).startsWith(prefix);
    const last = page.at(-1)?.slice(bucket.length + 1);
    return {
      Contents: page.map((id) => ({ Key: id.slice(bucket.length + 1) })),
      IsTruncated: truncated,
      ...(truncated && { NextContinuationToken: last }),
    };
  }

  /** Index of the first id above `bound` (or at it, with `orEqual`). */
  #firstAbove(bound: string, orEqual: boolean): number {
    let low = 0;
    let high = this.#sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const id = this.#sorted[middle] as string;
      if (id < bound || (!orEqual && id === bound)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
