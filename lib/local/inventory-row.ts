/** One row of a report, before encoding. */
export interface InventoryRow {
  key: string;
  size: number;
  lastModified: Date;
  etag: string;
  versionId?: string;
  isLatest?: boolean;
  isDeleteMarker?: boolean;
  storageClass?: string;
  /** Intelligent-Tiering's access tier: FREQUENT_ACCESS, ARCHIVE_ACCESS, … */
  accessTier?: string;
}

/** The columns a report can have, as `fileSchema` names them. */
export type ReportColumn =
  | 'Bucket'
  | 'Key'
  | 'VersionId'
  | 'IsLatest'
  | 'IsDeleteMarker'
  | 'Size'
  | 'LastModifiedDate'
  | 'ETag'
  | 'StorageClass'
  | 'IntelligentTieringAccessTier';
