import { describe, expect, it } from 'vitest';
import { createAwsClients, queueRegion } from '../../lib/core/aws-clients.ts';

describe('the SQS client of a run', () => {
  it('reads the region a queue URL names, in every form AWS gives it', () => {
    expect(queueRegion('https://sqs.eu-west-1.amazonaws.com/123456789012/objects.fifo')).toBe('eu-west-1');
    expect(queueRegion('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/objects')).toBe('cn-north-1');
    expect(queueRegion('https://ap-southeast-2.queue.amazonaws.com/123456789012/objects')).toBe('ap-southeast-2');
    expect(queueRegion('http://sqs.us-east-1.localhost:4566/000000000000/objects')).toBeUndefined();
    expect(queueRegion('not a url')).toBeUndefined();
  });

  it("signs for the queue's region when it is not the default one", async () => {
    const previous = process.env.AWS_REGION;
    process.env.AWS_REGION = 'us-east-1';
    try {
      const elsewhere = createAwsClients({ concurrency: 1, queueUrl: 'https://sqs.eu-central-1.amazonaws.com/123456789012/objects' });
      expect(await elsewhere.sqs.config.region()).toBe('eu-central-1');
      const emulated = createAwsClients({ concurrency: 1, queueUrl: 'http://127.0.0.1:4566/000000000000/objects' });
      expect(await emulated.sqs.config.region()).toBe('us-east-1');
    } finally {
      if (previous === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = previous;
    }
  });
});
