import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { formatS3Uri } from '../core/s3-location.ts';
import type { S3Location } from '../core/types.ts';

import { getJson, reportKey, runFolder, type RunStateStore } from './state.ts';
import type { Baseline, RunReport } from './types.ts';

const REPORT_FOLDER = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})Z$/;
/** Earlier reports looked at, newest first: a fortnight of daily reports and then some. */
const LOOKBACK = 60;

/** When a report's scan began, from its folder `YYYY-MM-DDTHH-MMZ`; undefined for other folders. */
export function scanStartOf(folder: string): Date | undefined {
  const match = REPORT_FOLDER.exec(folder);
  return match ? new Date(`${match[1]}T${match[2]}:${match[3]}:00Z`) : undefined;
}

/**
 * The last earlier report of the same inventory configuration whose run completed
 * (`report.json` with `status: complete`), skipping failed and unfinished runs; undefined when
 * there is none (a first run, or reports expired), and then everything is published.
 */
export async function findBaseline(
  s3: S3Client,
  manifest: S3Location,
  marginHours: number,
  store?: RunStateStore,
): Promise<Baseline | undefined> {
  const parts = manifest.key.split('/');
  const current = parts.at(-2) ?? '';
  const configPrefix = `${parts.slice(0, -2).join('/')}/`;
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: manifest.bucket,
        Prefix: configPrefix,
        Delimiter: '/',
        ...(token && { ContinuationToken: token }),
      }),
    );
    for (const { Prefix = '' } of page.CommonPrefixes ?? []) folders.push(Prefix.slice(configPrefix.length, -1));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  // Folder names sort as their times do.
  const earlier = folders
    .filter((folder) => REPORT_FOLDER.test(folder) && folder < current)
    .sort()
    .reverse()
    .slice(0, LOOKBACK);
  for (const folder of earlier) {
    const location = { bucket: manifest.bucket, key: `${configPrefix}${folder}/manifest.json` };
    const run = runFolder(location, store);
    const report = (await getJson<RunReport>(s3, run.bucket, reportKey(run)))?.value;
    if (report?.status !== 'complete') continue;
    const scanStart = scanStartOf(folder) as Date;
    return {
      manifest: formatS3Uri(location),
      scanStart: scanStart.toISOString(),
      changedSince: new Date(scanStart.getTime() - marginHours * 3_600_000).toISOString(),
    };
  }
  return undefined;
}
