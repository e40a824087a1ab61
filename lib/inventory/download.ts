import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { ChecksumMismatchError, DataFileError, PipelineError } from '../core/errors.ts';
import { DEFAULT_BACKOFF, waitBeforeRetry } from '../core/retry.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { ManifestFile } from './manifest.ts';
import type { S3Location } from '../core/types.ts';
import { httpStatusOf } from '../core/aws-errors.ts';

/** Resumes in a row that bring no new byte before the download counts as failed. */
export const MAX_RESUMES_WITHOUT_PROGRESS = 5;

export interface DownloadOptions {
  /** The ETag the object must still have (from an earlier read of it), else the read fails. */
  ifMatch?: string;
  /** Counts the bytes read (`bytesRead`, for progress) and the resumes. */
  stats?: RunStats;
  /** Counts the resumes only (a pass whose bytes are not progress). */
  onResume?: () => void;
}

/** A data file's compressed bytes, in order, and the ETag of the object they come from. */
export interface Download {
  etag: string | undefined;
  /** Ends after the last byte, once size and MD5 matched the manifest; throws otherwise. */
  chunks: AsyncGenerator<Buffer>;
}

/**
 * Opens a data file of a report for reading. Its size is checked at once. A body that breaks off
 * (a cut connection, or a silence longer than the client's socket timeout, as when a download
 * stalls) is resumed with a ranged GetObject from the first byte not yet delivered, pinned to the
 * same object by `If-Match`; the MD5 covers every byte of the file across resumes.
 */
export async function openDataFile(s3: S3Client, bucket: string, file: ManifestFile, options: DownloadOptions = {}): Promise<Download> {
  const uri = formatS3Uri({ bucket, key: file.key });
  const get = async (range?: string, ifMatch = options.ifMatch): Promise<GetObjectCommandOutput> => {
    try {
      return await getDataFile(s3, { bucket, key: file.key }, { ...(range && { range }), ...(ifMatch && { ifMatch }) });
    } catch (error) {
      throw asDataFileError(error, uri);
    }
  };
  const first = await get();
  if (first.ContentLength !== undefined && first.ContentLength !== file.size) {
    // Its unread body would hold the connection open until the socket's deadline.
    (first.Body as Readable | undefined)?.destroy();
    throw new ChecksumMismatchError(`data file ${uri} is ${first.ContentLength} bytes; the manifest says ${file.size}`);
  }
  const etag = first.ETag ?? options.ifMatch;

  async function* chunks(): AsyncGenerator<Buffer> {
    const md5 = createHash('md5');
    const progress = { received: 0, resumes: 0 };
    let body = first.Body as Readable;
    try {
      for (;;) {
        const broken = yield* bodyChunks(body, (chunk) => {
          md5.update(chunk);
          progress.received += chunk.length;
          progress.resumes = 0;
          if (options.stats) options.stats.bytesRead += chunk.length;
        });
        // All bytes are here, even if the connection broke right after the last one.
        if (isComplete(uri, file, progress, broken)) break;
        body.destroy();
        await waitBeforeRetry(progress.resumes, DEFAULT_BACKOFF);
        options.stats?.recordResume();
        options.onResume?.();
        body = (await get(`bytes=${progress.received}-`, etag)).Body as Readable;
      }
    } finally {
      // Also when the reader stops early (its time budget): the connection is not left open.
      body.destroy();
    }
    const actual = md5.digest('hex');
    if (actual !== file.md5) throw new ChecksumMismatchError(`data file ${uri} has MD5 ${actual}; the manifest says ${file.md5}`);
  }
  return { etag, chunks: chunks() };
}

/** Yields a body's chunks until it ends or breaks; returns what broke it, if anything. */
async function* bodyChunks(body: Readable, onChunk: (chunk: Buffer) => void): AsyncGenerator<Buffer, unknown> {
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      onChunk(chunk);
      yield chunk;
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * True when every byte the manifest promises has come; false when the download should resume
 * (counted in `progress.resumes`); throws when it has too many bytes or makes no more progress.
 */
function isComplete(uri: string, file: ManifestFile, progress: { received: number; resumes: number }, broken: unknown): boolean {
  if (progress.received > file.size)
    throw new ChecksumMismatchError(`data file ${uri} has more than the ${file.size} bytes the manifest says`);
  if (progress.received === file.size) return true;
  progress.resumes += 1;
  if (progress.resumes <= MAX_RESUMES_WITHOUT_PROGRESS) return false;
  const why = broken instanceof Error ? `${broken.name}: ${broken.message}` : 'the connection closed early';
  throw new DataFileError(
    `data file ${uri} stopped at byte ${progress.received} of ${file.size} after ${progress.resumes - 1} resumes: ${why}`,
    {
      cause: broken,
    },
  );
}

/**
 * GetObject of a data file, or of a range of it, pinned by `If-Match` to the ETag read before: an
 * object replaced meanwhile (412) fails with a DataFileError saying so; other errors pass as they are.
 */
export async function getDataFile(
  s3: S3Client,
  location: S3Location,
  { range, ifMatch }: { range?: string; ifMatch?: string },
): Promise<GetObjectCommandOutput> {
  try {
    return await s3.send(
      new GetObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        ...(range && { Range: range }),
        ...(ifMatch && { IfMatch: ifMatch }),
      }),
    );
  } catch (error) {
    if (httpStatusOf(error) !== 412) throw error;
    const uri = formatS3Uri(location);
    throw new DataFileError(`data file ${uri} changed while it was being read (its ETag is no longer ${ifMatch})`, { cause: error });
  }
}

/**
 * An error met while reading a data file, named as the file's: a download that failed or a check
 * of the reader's that the bytes did not pass. A programming error (a TypeError, a RangeError such
 * as a stack overflow, an assertion) passes as it is: a bug is not blamed on the file.
 */
export function asDataFileError(error: unknown, uri: string): Error {
  if (error instanceof PipelineError || isProgrammingError(error)) return error as Error;
  const { name, message } = error as Error;
  return new DataFileError(`data file ${uri} could not be read: ${name}: ${message}`, { cause: error });
}

/** An error that only a mistake in this code raises, never a file's bytes or a service's answer. */
export function isProgrammingError(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError ||
    (error as NodeJS.ErrnoException | null)?.code === 'ERR_ASSERTION'
  );
}
