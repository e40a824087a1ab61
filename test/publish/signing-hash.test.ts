import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, ChecksumConstructor } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { SigningSha256 } from '../../lib/publish/signing-hash.ts';

const example: AwsCredentialIdentity = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

async function authorization(
  sha256: ChecksumConstructor,
  credentials: AwsCredentialIdentity,
  request: HttpRequest,
  signingDate: Date,
  region = 'us-east-1',
) {
  const signer = new SignatureV4({ service: request.hostname.split('.')[0] ?? '', region, credentials, sha256, applyChecksum: false });
  const signed = await signer.sign(request, { signingDate });
  return signed.headers.authorization;
}

const sendBatch = (body: string) =>
  new HttpRequest({
    method: 'POST',
    protocol: 'https:',
    hostname: 'sqs.eu-west-1.amazonaws.com',
    path: '/',
    headers: {
      host: 'sqs.eu-west-1.amazonaws.com',
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AmazonSQS.SendMessageBatch',
    },
    body,
  });

describe('the hash the SendMessageBatch signer uses', () => {
  it("gives AWS's published SigV4 signature (test suite, get-vanilla)", async () => {
    const request = new HttpRequest({
      method: 'GET',
      protocol: 'https:',
      hostname: 'service.example.amazonaws.com',
      path: '/',
      headers: { host: 'example.amazonaws.com' },
    });
    const header = await authorization(SigningSha256, example, request, new Date('2015-08-30T12:36:00Z'));
    expect(header).toContain('Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });

  it("signs as the SDK's own hash does, across credentials, session tokens, days and regions", async () => {
    const credentials: AwsCredentialIdentity[] = [
      example,
      { accessKeyId: 'ASIAEXAMPLE1', secretAccessKey: 'secret-one', sessionToken: 'token-one' },
      { accessKeyId: 'ASIAEXAMPLE1', secretAccessKey: 'secret-one', sessionToken: 'token-two' },
      { accessKeyId: 'ASIAEXAMPLE2', secretAccessKey: 'secret-two', sessionToken: 'token-three' },
    ];
    // More secrets than the key cache holds, then the first again: every signature still matches.
    for (let extra = 0; extra < 10; extra += 1) credentials.push({ accessKeyId: `AKID${extra}`, secretAccessKey: `secret-${extra}` });
    credentials.push(example);
    const days = [new Date('2026-11-28T23:59:59Z'), new Date('2026-11-29T00:00:01Z')];
    for (const identity of credentials) {
      for (const day of days) {
        for (const region of ['eu-west-1', 'us-east-1']) {
          const body = JSON.stringify({
            QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/objects',
            Entries: [{ Id: '0', MessageBody: `{"key":"${identity.accessKeyId}é"}` }],
          });
          const ours = await authorization(SigningSha256, identity, sendBatch(body), day, region);
          expect(ours).toBe(await authorization(Sha256, identity, sendBatch(body), day, region));
        }
      }
    }
  });

  it('hashes and keys from strings and bytes alike, and starts over on reset', async () => {
    const bytes = new TextEncoder().encode('secret-key');
    const fromString = new SigningSha256('secret-key');
    const fromBytes = new SigningSha256(bytes);
    const theirs = new Sha256('secret-key');
    for (const hash of [fromString, fromBytes, theirs]) hash.update(new TextEncoder().encode('string to sign'));
    const expected = Buffer.from(await theirs.digest()).toString('hex');
    expect(Buffer.from(await fromString.digest()).toString('hex')).toBe(expected);
    expect(Buffer.from(await fromBytes.digest()).toString('hex')).toBe(expected);

    const plain = new SigningSha256();
    plain.update(new TextEncoder().encode('discarded'));
    plain.reset();
    expect(Buffer.from(await plain.digest()).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
