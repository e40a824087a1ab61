import type { S3Client } from '@aws-sdk/client-s3';
import { DataFileError } from '../core/errors.ts';
import { DEFAULT_BACKOFF, waitBeforeRetry } from '../core/retry.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import { asDataFileError, getDataFile, MAX_RESUMES_WITHOUT_PROGRESS } from './download.ts';
import type { ManifestFile } from './manifest.ts';

/** Bytes of a file by range: ranged GETs of an S3 object, or a buffer in tests. */
export interface ByteSource {
  readonly size: number;
  /** Bytes `[start, end)`. */
  read(start: number, end: number): Promise<Buffer>;
}

/**
 * A data file read by ranged GetObject calls, each pinned by `If-Match` to the ETag the integrity
 * pass checked: the bytes read are the bytes whose MD5 matched the manifest. A range whose body
 * breaks off is asked for again, with backoff, as a CSV download is resumed.
 */
export function s3ByteSource(s3: S3Client, bucket: string, file: ManifestFile, options: { etag?: string; stats?: RunStats }): ByteSource {
  const uri = formatS3Uri({ bucket, key: file.key });
  const get = async (start: number, end: number): Promise<Buffer> => {
    const range = `bytes=${start}-${end - 1}`;
    const response = await getDataFile(s3, { bucket, key: file.key }, { range, ...(options.etag && { ifMatch: options.etag }) });
    const body = (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
    // A view, not a copy: the body is already one piece of memory of its own.
    const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (bytes.length !== end - start) throw new Error(`the range ${start}-${end - 1} came back with ${bytes.length} bytes`);
    return bytes;
  };
  return {
    size: file.size,
    async read(start, end) {
      if (start < 0 || end > file.size || end < start)
        throw new DataFileError(`data file ${uri}: the range ${start}-${end} is outside its ${file.size} bytes`);
      if (end === start) return Buffer.alloc(0);
      for (let attempt = 1; ; attempt += 1) {
        try {
          const bytes = await get(start, end);
          if (options.stats) options.stats.bytesRead += bytes.length;
          return bytes;
        } catch (error) {
          if (error instanceof DataFileError || attempt > MAX_RESUMES_WITHOUT_PROGRESS) throw asDataFileError(error, uri);
          options.stats?.recordResume();
          await waitBeforeRetry(attempt, DEFAULT_BACKOFF);
        }
      }
    },
  };
}

/** A buffer as a byte source: files written locally, and tests. */
export function bufferSource(bytes: Buffer): ByteSource {
  return { size: bytes.length, read: async (start, end) => bytes.subarray(start, end) };
}
