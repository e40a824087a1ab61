import type { S3Client } from '@aws-sdk/client-s3';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import { asDataFileError, openDataFile } from './download.ts';
import type { ManifestFile } from './manifest.ts';

/**
 * The integrity pass of every format: the whole file downloaded, its size and MD5 checked against
 * the manifest, nothing decompressed or parsed, so it runs at download speed. Keeps the first
 * `sampleBytes` bytes for a format that estimates its rows from them.
 */
export async function checkBytes(
  s3: S3Client,
  bucket: string,
  file: ManifestFile,
  stats?: RunStats,
  sampleBytes = 0,
): Promise<{ etag: string | undefined; sample: Buffer }> {
  const uri = formatS3Uri({ bucket, key: file.key });
  const { etag, chunks } = await openDataFile(s3, bucket, file, { ...(stats && { onResume: () => stats.recordResume() }) });
  const sample: Buffer[] = [];
  let sampled = 0;
  try {
    for await (const chunk of chunks) {
      if (sampled >= sampleBytes) continue;
      const part = chunk.subarray(0, sampleBytes - sampled);
      sample.push(Buffer.from(part));
      sampled += part.length;
    }
  } catch (error) {
    throw asDataFileError(error, uri);
  }
  return { etag, sample: Buffer.concat(sample) };
}
