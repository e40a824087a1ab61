import { InvalidArgumentError } from '../core/errors.ts';
import { fetchManifest, requireColumns, type InventoryManifest, type ManifestFile } from './manifest.ts';
import { dataFileFormat } from './formats.ts';
import type { InventoryObject, VerifiedFile } from './data-file.ts';
import { TrackedRead } from './tracked-read.ts';
import { publishAll, requireAllPublished, type PipelineContext } from '../publish/pipeline.ts';
import { RunStats, type StatsSummary } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { S3Location } from '../core/types.ts';

/** Where a stopped run of a report resumes: data files before `file` are done, and its first `startRow` rows. */
export interface InventoryContinuation {
  manifest: string;
  file: number;
  startRow: number;
}

/** How far this run got in one data file. */
export interface DataFileProgress {
  file: number;
  key: string;
  /** Leading rows whose messages are all settled. */
  rowsDone: number;
  done: boolean;
}

export interface InventorySummary extends StatsSummary {
  manifest: string;
  sourceBucket: string;
  dataFiles: number;
  /** Every current object of the report has been published (false after an interrupt). */
  done: boolean;
  /** The data files this run read. */
  files: DataFileProgress[];
  /** Present when not done: pass it back to continue. */
  continuation?: InventoryContinuation;
  /** `changed` mode: objects modified before this were skipped as `unchanged`. */
  changedSince?: string;
}

export interface InventoryJobOptions {
  /** Aborting stops at a row boundary once the batches in flight have settled. */
  signal?: AbortSignal;
  continuation?: InventoryContinuation;
  /** `changed` mode with a baseline: only objects modified at or after this are published. */
  changedSince?: Date;
}

/** An object of the report, with the index of its data file (set on the reader's own objects). */
interface FileObject extends InventoryObject {
  file: number;
}

/** The data files read so far, each with its read; finished at the end. */
interface ReportProgress {
  files: Array<Omit<DataFileProgress, 'rowsDone'> & { read: TrackedRead }>;
  finished: boolean;
}

/**
 * Publishes one message per current object of an inventory report: manifest → data files, one
 * after another, each verified (size, MD5) before any of its rows is published, the next one
 * while this one is → publisher. Data files are read in order, since parsing is an order of
 * magnitude faster than sending; the publisher's concurrency is what keeps SQS busy.
 */
export async function publishInventoryReport(
  manifestLocation: S3Location,
  context: PipelineContext,
  stats = new RunStats(),
  options: InventoryJobOptions = {},
): Promise<InventorySummary> {
  const uri = formatS3Uri(manifestLocation);
  if (options.continuation && options.continuation.manifest !== uri) {
    throw new InvalidArgumentError(`the continuation belongs to ${options.continuation.manifest}, not ${uri}`);
  }
  // A manifest that is missing, unreadable or wrong for the run is refused before anything is read.
  const manifest = await fetchManifest(context.s3, manifestLocation);
  requireColumns(manifest, context.config);
  checkContinuation(options.continuation, manifest);
  stats.bytesTotal = manifest.files.reduce((total, file) => total + file.size, 0);
  if (manifest.destinationBucket !== manifestLocation.bucket) {
    context.log.warn('manifest names another destination bucket; reading data files beside the manifest', {
      manifest: uri,
      destinationBucket: manifest.destinationBucket,
    });
  }
  const reading: ReportProgress = { files: [], finished: false };
  let failure: unknown;
  try {
    const firstFile = options.continuation?.file ?? 0;
    await publishAll(keysOfReport(manifest, context, stats, reading, options), context, stats, (object, done) =>
      reading.files[object.file - firstFile]?.read.settle(object, done),
    );
  } catch (error) {
    failure = error;
  }
  // A file is done when read to its end with every message settled; the continuation starts at
  // the first file that is not, at its first row not published.
  const progress = reading.files.map(({ read, ...file }) => ({
    ...file,
    done: file.done && !read.watermark.hasFailed,
    rowsDone: read.watermark.rowsDone,
  }));
  const resumeAt = progress.find((file) => !file.done);
  const done = failure === undefined && reading.finished && resumeAt === undefined;
  const summary: InventorySummary = {
    manifest: uri,
    sourceBucket: manifest.sourceBucket,
    dataFiles: manifest.files.length,
    done,
    files: progress,
    ...(options.changedSince && { changedSince: options.changedSince.toISOString() }),
    ...(!done && resumeAt && { continuation: { manifest: uri, file: resumeAt.file, startRow: resumeAt.rowsDone } }),
    ...stats.toJSON(),
  };
  return requireAllPublished(`inventory report ${uri}`, summary, failure);
}

function checkContinuation(continuation: InventoryContinuation | undefined, manifest: InventoryManifest): void {
  if (!continuation) return;
  const { file, startRow } = continuation;
  if (!Number.isSafeInteger(file) || file < 0 || file >= manifest.files.length) {
    throw new InvalidArgumentError(`the continuation's "file" ${file} is not a data file of the report (it has ${manifest.files.length})`);
  }
  if (!Number.isSafeInteger(startRow) || startRow < 0) {
    throw new InvalidArgumentError(`the continuation's "startRow" ${startRow} must be a whole number of at least 0`);
  }
}

async function* keysOfReport(
  manifest: InventoryManifest,
  context: PipelineContext,
  stats: RunStats,
  reading: ReportProgress,
  { signal, continuation, changedSince }: InventoryJobOptions,
): AsyncGenerator<FileObject[]> {
  const format = dataFileFormat(manifest.format);
  const dataFile = (index: number) => ({
    bucket: manifest.location.bucket,
    sourceBucket: manifest.sourceBucket,
    file: manifest.files[index] as ManifestFile,
    columns: manifest.columns,
  });
  // The next file is checked while this one is published: the sender never waits for a check.
  const check = (index: number) => {
    const checked = format.verify(context.s3, dataFile(index), stats);
    checked.catch(() => {});
    return checked;
  };
  const selection = { fields: context.config.readFields, ...(changedSince && { changedSince: changedSince.getTime() }) };
  let nextCheck: Promise<VerifiedFile> | undefined;
  for (let index = continuation?.file ?? 0; index < manifest.files.length; index += 1) {
    const file = dataFile(index);
    const startRow = index === continuation?.file ? continuation.startRow : 0;
    const read = new TrackedRead({ s3: context.s3, format, file }, stats, {
      startRow,
      shouldStop: () => signal?.aborted === true,
    });
    const progress = { file: index, key: file.file.key, done: false, read };
    reading.files.push(progress);
    if (signal?.aborted) return;
    const { etag } = await (nextCheck ?? check(index));
    nextCheck = index + 1 < manifest.files.length ? check(index + 1) : undefined;
    for await (const objects of read.batches(selection, etag)) {
      const batch = objects as FileObject[];
      for (const object of batch) object.file = index;
      yield batch;
    }
    if (read.rowsIfPastEnd !== undefined) {
      throw new InvalidArgumentError(
        `the continuation's "startRow" ${startRow} is past the end of data file ${index}, which has ${read.rowsIfPastEnd} rows`,
      );
    }
    // Stopped on the way: the row where it stopped is left for the continuation.
    if (read.stopped) return;
    progress.done = true;
  }
  reading.finished = true;
}
