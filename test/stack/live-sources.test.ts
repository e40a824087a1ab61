import { describe, expect, it } from 'vitest';
import { eventBridgeResourceName, liveSources } from '../../lib/stack/live-sources.ts';

const settings = {
  sourceBucket: 'stack-source',
  acceptSourceBuckets: 'acme-photos, acme-videos',
  adoptedBucket: 'acme-inventories',
  inventoryBucket: 'stack-inventory',
};

describe('the buckets of the live path', () => {
  it("are the source bucket and an adopted inventory's accepted source buckets, each once, never the stack's own", () => {
    const sources = liveSources({ ...settings, acceptSourceBuckets: 'acme-photos,stack-source,acme-videos,stack-inventory,acme-photos' });
    expect(sources.buckets).toEqual(['stack-source', 'acme-photos', 'acme-videos']);
    expect(sources.bucketList).toBe('stack-source,acme-photos,acme-videos');
    expect(sources.objectArns).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::stack-source/*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-photos/*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-videos/*' },
    ]);
  });

  it('are the source bucket alone without an adopted inventory, whatever acceptSourceBuckets says', () => {
    const sources = liveSources({ ...settings, adoptedBucket: '' });
    expect(sources.buckets).toEqual(['stack-source']);
    expect(sources.resources).toEqual({ Resources: {} });
    expect(sources.turnOnStatement).toEqual({ Ref: 'AWS::NoValue' });
  });

  it('turn EventBridge on, under one condition, for each accepted bucket but the source and the adopted inventory bucket', () => {
    const sources = liveSources({ ...settings, acceptSourceBuckets: 'acme-photos,acme-inventories,stack-source' });
    const resources = Object.values(sources.resources.Resources) as Array<{
      Type: string;
      Condition: string;
      Properties: { Bucket: string };
    }>;
    expect(resources.map((resource) => [resource.Type, resource.Condition, resource.Properties.Bucket])).toEqual([
      ['Custom::BucketEventBridge', 'LiveOnAdoptedSources', 'acme-photos'],
    ]);
    expect(Object.keys(sources.resources.Conditions ?? {})).toEqual(['LiveOnAdoptedSources']);
    expect(JSON.stringify(sources.turnOnStatement)).toContain('"Resource":[{"Fn::Sub":"arn:${AWS::Partition}:s3:::acme-photos"}]');
  });

  it('refuses what cannot be a bucket name (it becomes an event pattern and IAM resources), naming it', () => {
    expect(() => liveSources({ ...settings, acceptSourceBuckets: 'acme-photos,acme/videos' })).toThrow(
      'acceptSourceBuckets names "acme/videos", which is no bucket name: 3 to 255 letters, digits, dots, hyphens or underscores',
    );
    // A bucket named by S3's rules of old is taken.
    expect(liveSources({ ...settings, acceptSourceBuckets: 'Legacy_Photos' }).buckets).toContain('Legacy_Photos');
  });

  it("refuses more accepted buckets than EventBridge's event pattern quota holds, saying how large it would be", () => {
    const many = Array.from({ length: 100 }, (_, index) => `acme-team-${index}-photos`).join(',');
    expect(() => liveSources({ ...settings, acceptSourceBuckets: many })).toThrow(
      /acceptSourceBuckets names 100 buckets: the live rule's event pattern would be 2\d{3} characters, past EventBridge's 2048/,
    );
  });

  it("names each bucket's resource the same whatever the list's order, and tells apart names of the same letters", () => {
    const forward = Object.keys(liveSources({ ...settings, acceptSourceBuckets: 'a.b.c,abc' }).resources.Resources);
    const backward = Object.keys(liveSources({ ...settings, acceptSourceBuckets: 'abc,a.b.c' }).resources.Resources);
    expect(new Set(forward)).toEqual(new Set(backward));
    expect(eventBridgeResourceName('a.b.c')).not.toBe(eventBridgeResourceName('abc'));
    for (const name of forward) expect(name).toMatch(/^LiveSourceEventBridge[A-Za-z0-9]+$/);
  });
});
