import { InvalidArgumentError } from './errors.ts';
import type { S3Location } from './types.ts';

/** Parses `s3://bucket/key` as typed on a command line (the key is not URL-encoded). */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) {
    throw new InvalidArgumentError(`"${uri}" is not an S3 object URI: expected s3://<bucket>/<key>`);
  }
  return { bucket: match[1], key: match[2] };
}

export function formatS3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}
