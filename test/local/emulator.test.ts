import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
beforeAll(() => aws.createBucket('conditional'));

const put = (key: string, body: string, condition: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
  aws.s3.send(new PutObjectCommand({ Bucket: 'conditional', Key: key, Body: body, ...condition }));
const status = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

describe('the emulator enforces S3 conditional writes', () => {
  it('creates a key with If-None-Match: * once', async () => {
    await put('claim.json', 'first', { IfNoneMatch: '*' });
    const second = await put('claim.json', 'second', { IfNoneMatch: '*' }).catch((error: unknown) => error);
    expect(status(second)).toBe(412);
    const { Body } = await aws.s3.send(new GetObjectCommand({ Bucket: 'conditional', Key: 'claim.json' }));
    expect(await Body?.transformToString()).toBe('first');
  });

  it('lets exactly one of many concurrent conditional creates win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) => put('race.json', String(index), { IfNoneMatch: '*' })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(
      results.filter((result) => result.status === 'rejected').map((result) => status((result as PromiseRejectedResult).reason)),
    ).toEqual(Array(19).fill(412));
  });

  it('updates with If-Match only while the ETag is unchanged', async () => {
    const { ETag } = await put('lease.json', 'v1');
    const { ETag: next } = await put('lease.json', 'v2', { IfMatch: ETag });
    expect(status(await put('lease.json', 'v3', { IfMatch: ETag }).catch((error: unknown) => error))).toBe(412);
    await expect(put('lease.json', 'v3', { IfMatch: next })).resolves.toBeDefined();
    expect(status(await put('missing.json', 'x', { IfMatch: next }).catch((error: unknown) => error))).toBe(404);
  });

  it('leaves unconditional writes alone', async () => {
    await put('plain.json', 'a');
    await expect(put('plain.json', 'b')).resolves.toBeDefined();
  });
});

describe('the emulator lists keys as S3 does', () => {
  const keys = ['b', 'B', 'a/1', 'a/2', 'a/b/3', 'é', '\uE000', '😀', 'a', 'Z', '0', '/x'];
  const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const list = async (input: Omit<ConstructorParameters<typeof ListObjectsV2Command>[0], 'Bucket'>) => {
    const pages = [];
    let token: string | undefined;
    do {
      const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'listing', ...input, ...(token && { ContinuationToken: token }) }));
      pages.push(page);
      token = page.NextContinuationToken;
    } while (token);
    return pages;
  };

  beforeAll(async () => {
    await aws.createBucket('listing');
    for (const key of keys) await aws.s3.send(new PutObjectCommand({ Bucket: 'listing', Key: key, Body: 'x' }));
  });

  it('pages through every key once, in UTF-8 byte order', async () => {
    const pages = await list({ MaxKeys: 3 });
    expect(pages.flatMap((page) => (page.Contents ?? []).map((object) => object.Key))).toEqual([...keys].sort(utf8Order));
  });

  it('honours StartAfter, Prefix and Delimiter', async () => {
    const [afterA] = await list({ StartAfter: 'a' });
    expect(afterA?.Contents?.map((object) => object.Key)).toEqual([...keys].filter((key) => utf8Order(key, 'a') > 0).sort(utf8Order));
    const [underA] = await list({ Prefix: 'a/', Delimiter: '/' });
    expect(underA?.Contents?.map((object) => object.Key)).toEqual(['a/1', 'a/2']);
    expect(underA?.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(['a/b/']);
  });

  it('sees a key written after a listing', async () => {
    await aws.s3.send(new PutObjectCommand({ Bucket: 'listing', Key: 'a/0', Body: 'x' }));
    const [underA] = await list({ Prefix: 'a/' });
    expect(underA?.Contents?.map((object) => object.Key)).toEqual(['a/0', 'a/1', 'a/2', 'a/b/3']);
  });
});
