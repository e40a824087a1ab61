import { fetchManifest, type InventoryManifest } from './manifest.ts';
import { readInventoryFile, verifyDataFile } from './reader.ts';
import { publishAll, requireAllPublished, type PipelineContext } from '../publish/pipeline.ts';
import { RunStats, type StatsSummary } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { ObjectRef, S3Location } from '../core/types.ts';

export interface InventorySummary extends StatsSummary {
  manifest: string;
  sourceBucket?: string;
  dataFiles: number;
}

/**
 * Publishes one message per current object of an inventory report: manifest → data files, one
 * after another → publisher. Data files are read in order, since parsing is an order of magnitude
 * faster than sending; the publisher's concurrency is what keeps SQS busy.
 */
export async function publishInventoryReport(
  manifestLocation: S3Location,
  context: PipelineContext,
  stats = new RunStats(),
): Promise<InventorySummary> {
  const uri = formatS3Uri(manifestLocation);
  let manifest: InventoryManifest | undefined;
  let failure: unknown;
  try {
    manifest = await fetchManifest(context.s3, manifestLocation);
    stats.bytesTotal = manifest.files.reduce((total, file) => total + file.size, 0);
    if (manifest.destinationBucket !== manifestLocation.bucket) {
      context.log.warn('manifest names another destination bucket; reading data files beside the manifest', {
        manifest: uri,
        destinationBucket: manifest.destinationBucket,
      });
    }
    await publishAll(keysOfReport(manifest, context, stats), context, stats);
  } catch (error) {
    failure = error;
  }
  const summary: InventorySummary = {
    manifest: uri,
    ...(manifest && { sourceBucket: manifest.sourceBucket }),
    dataFiles: manifest?.files.length ?? 0,
    ...stats.toJSON(),
  };
  return requireAllPublished(`inventory report ${uri}`, summary, failure);
}

/** Each data file is verified (size, MD5) before any of its rows is published. */
async function* keysOfReport(manifest: InventoryManifest, context: PipelineContext, stats: RunStats): AsyncGenerator<ObjectRef> {
  for (const file of manifest.files) {
    const dataFile = { bucket: manifest.location.bucket, file, columns: manifest.columns };
    const { etag } = await verifyDataFile(context.s3, dataFile, stats);
    yield* readInventoryFile(context.s3, dataFile, stats, { ...(etag && { etag }) });
  }
}
