import type { SQSRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { objectCreatedRecord } from '../../lib/core/message.ts';
import { listObjects } from '../../lib/core/listing.ts';
import { eventBridgeObjectCreated } from '../../lib/inventory/s3-event.ts';
import { publishLiveBatch, type LiveSettings } from '../../lib/live/live-publish.ts';
import { LiveRecordSet, recordHash } from '../../lib/live/live-record.ts';
import { publishSharingCap } from '../../lib/run/rate-share.ts';
import { putObject, useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
const SETTINGS: LiveSettings = {
  sourceBuckets: ['live-photos'],
  ownBuckets: ['live-state'],
  record: { bucket: 'live-state', prefix: 'live/' },
};
let records = 0;

beforeAll(async () => {
  for (const bucket of ['live-photos', 'live-other', 'live-state']) await aws.createBucket(bucket);
});

/** An SQS record of the buffer queue holding `body`, as the event source mapping hands it over. */
function record(body: unknown): SQSRecord {
  records += 1;
  return { messageId: `m-${records}`, body: JSON.stringify(body) } as SQSRecord;
}

const created = (bucket: string, key: string, written: { etag?: string; sequencer?: string; versionId?: string } = {}) =>
  record(eventBridgeObjectCreated({ bucket, key }, 10, '000000000000', new Date(), written));

const keysIn = (bodies: string[]) => bodies.map((body) => (JSON.parse(body) as { key: string }).key).sort();

describe('the live path', () => {
  it('publishes an event delivered twice once, and a key rewritten within five minutes twice, to a FIFO queue', async () => {
    const queueUrl = await aws.createQueue('live-fifo.fifo');
    const context = aws.context(queueUrl, { messageFields: ['etag'] });
    const first = created('live-photos', 'a.jpg', { etag: 'e1', sequencer: '0A' });
    expect(await publishLiveBatch([first], context, SETTINGS)).toMatchObject({ published: 1, batchItemFailures: [] });
    // EventBridge delivers at least once: the same event again, in a later batch.
    await publishLiveBatch([{ ...first, messageId: 'again' }], context, SETTINGS);
    await publishLiveBatch([created('live-photos', 'a.jpg', { etag: 'e2', sequencer: '0B' })], context, SETTINGS);
    const bodies = (await aws.drain(queueUrl)).map((body) => JSON.parse(body) as { key: string; etag: string });
    expect(bodies).toEqual([
      { bucket: 'live-photos', key: 'a.jpg', etag: 'e1' },
      { bucket: 'live-photos', key: 'a.jpg', etag: 'e2' },
    ]);
  });

  it('keeps the latest write of a key in one batch by its sequencer, left-padded', async () => {
    const queueUrl = await aws.createQueue('live-latest');
    const context = aws.context(queueUrl, { messageFields: ['etag'] });
    const batch = [
      created('live-photos', 'b.jpg', { etag: 'late', sequencer: '0100' }),
      created('live-photos', 'b.jpg', { etag: 'early', sequencer: 'FF' }),
    ];
    expect(await publishLiveBatch(batch, context, SETTINGS)).toMatchObject({ published: 1, superseded: 1 });
    expect((await aws.drain(queueUrl)).map((body) => JSON.parse(body).etag)).toEqual(['late']);
  });

  it("publishes nothing of a bucket not accepted or of the stack's own, and ignores what is no object written", async () => {
    const queueUrl = await aws.createQueue('live-refused');
    const outcome = await publishLiveBatch(
      [
        created('live-other', 'x'),
        created('live-state', 'live/x.bin'),
        record({ source: 'aws.s3', 'detail-type': 'Object Deleted' }),
        record('not json'),
      ],
      aws.context(queueUrl),
      SETTINGS,
    );
    expect(outcome).toMatchObject({ published: 0, refused: 2, ignored: 2, batchItemFailures: [] });
    expect(await aws.drain(queueUrl)).toEqual([]);
  });

  it('reads awkward keys from EventBridge as given, or decoded when only that object exists, and from S3 notifications decoded', async () => {
    const queueUrl = await aws.createQueue('live-keys');
    const awkward = ['a b+c.jpg', '100%.txt', 'ünï/çødé ☃.png', `${'k'.repeat(1_000)}`];
    for (const key of awkward) await putObject(aws.s3, 'live-photos', key, 'x');
    // EventBridge: a literal key; and a key an encoder had encoded after all (only its decoding exists).
    const literal = awkward.map((key) => created('live-photos', key));
    const encoded = created('live-photos', encodeURIComponent('encoded key.jpg').replaceAll('%20', '+'));
    await putObject(aws.s3, 'live-photos', 'encoded key.jpg', 'x');
    // An S3 notification carries keys URL-encoded.
    const notified = awkward.map((key, index) =>
      record({
        Records: [
          objectCreatedRecord({
            bucket: 'live-photos',
            key,
            size: 1,
            eTag: 'e',
            sequencer: `0${index}`,
            time: new Date(),
            region: 'us-east-1',
            configurationId: 'live',
            origin: { principalId: '', sourceIPAddress: '', requestId: '' },
          }),
        ],
      }),
    );
    await publishLiveBatch([...literal, encoded], aws.context(queueUrl), SETTINGS);
    expect(keysIn(await aws.drain(queueUrl))).toEqual([...awkward, 'encoded key.jpg'].sort());
    await publishLiveBatch(notified, aws.context(queueUrl), SETTINGS);
    expect(keysIn(await aws.drain(queueUrl))).toEqual([...awkward].sort());
  });

  it('hands nothing to the publisher past its deadline: those records go back to the queue, none lost', async () => {
    const queueUrl = await aws.createQueue('live-deadline');
    const batch = Array.from({ length: 30 }, (_, index) => created('live-photos', `d/${index}.jpg`, { etag: `e${index}` }));
    const late = await publishLiveBatch(batch, aws.context(queueUrl), SETTINGS, Date.now() - 1);
    expect(late).toMatchObject({ published: 0, deferred: 30, recorded: 0 });
    expect(late.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(batch.map((each) => each.messageId));
    // Under a cap of 20 a second, 100 objects take 5 s: a deadline 2 s away publishes some, returns the rest.
    const many = Array.from({ length: 100 }, (_, index) => created('live-photos', `d/${index}.jpg`, { etag: `e${index}` }));
    const capped = aws.context(queueUrl, { maxMessagesPerSecond: 20 });
    const shared = { ...SETTINGS, publish: publishSharingCap({ bucket: 'live-state', prefix: 'live/' }) };
    const partly = await publishLiveBatch(many, capped, shared, Date.now() + 2_000);
    expect(partly.published).toBeGreaterThan(0);
    expect(partly.deferred).toBeGreaterThan(0);
    expect(partly.published + partly.batchItemFailures.length).toBe(100);
    expect(await aws.drain(queueUrl)).toHaveLength(partly.published);
  });

  it('shares a messages-per-second cap between the invocations publishing at once', async () => {
    const queueUrl = await aws.createQueue('live-capped');
    const settings = { ...SETTINGS, publish: publishSharingCap({ bucket: 'live-state', prefix: 'live/' }) };
    const batch = (name: string) => Array.from({ length: 150 }, (_, index) => created('live-photos', `${name}/${index}.jpg`));
    const started = Date.now();
    const outcomes = await Promise.all(
      ['a', 'b'].map((name) => publishLiveBatch(batch(name), aws.context(queueUrl, { maxMessagesPerSecond: 100 }), settings)),
    );
    const elapsed = Date.now() - started;
    expect(outcomes.map((outcome) => outcome.published)).toEqual([150, 150]);
    // 300 messages under one cap of 100 a second take 3 s; at the whole cap each, 1.5 s.
    expect(elapsed).toBeGreaterThanOrEqual(2_500);
    expect(await aws.drain(queueUrl)).toHaveLength(300);
  });

  it('records what it published, one object per invocation, 8 bytes per key, and measures the lag from the write', async () => {
    const queueUrl = await aws.createQueue('live-record');
    const batch = Array.from({ length: 50 }, (_, index) =>
      created('live-photos', `r/${index}.jpg`, { etag: `e${index}`, sequencer: '01' }),
    );
    const outcome = await publishLiveBatch(batch, aws.context(queueUrl), SETTINGS);
    expect(outcome).toMatchObject({ published: 50, recorded: 50 });
    expect(outcome.lagMsP99).toBeGreaterThanOrEqual(outcome.lagMsP50 ?? 0);
    const objects = [];
    for await (const object of listObjects(aws.s3, 'live-state', 'live/live-photos/')) objects.push(object);
    const last = objects.find((object) => object.Size === 400);
    expect(last).toBeDefined();
    const body = await (
      await aws.s3.send(new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: 'live-state', Key: last?.Key }))
    ).Body?.transformToByteArray();
    const set = new LiveRecordSet(1_000);
    set.add(body as Uint8Array, String(last?.Key));
    expect(set.has(recordHash('live-photos', 'r/7.jpg', 'e7'))).toBe(true);
    expect(set.has(recordHash('live-photos', 'r/7.jpg', 'other'))).toBe(false);
  });
});
