import { describe, expect, it } from 'vitest';
import { loadSelection } from '../../lib/core/config.ts';
import { filteredOut } from '../../lib/publish/pipeline.ts';

const object = (details: { storageClass?: string; accessTier?: string; size?: number; lastModified?: string }) => ({
  bucket: 'b',
  key: 'k',
  details,
});

describe('the filters', () => {
  it('skip by storage class, included or excluded; an object without one is STANDARD, as S3 lists it', () => {
    const { filter: only } = loadSelection({ STORAGE_CLASS_INCLUDE: 'STANDARD,STANDARD_IA' });
    expect(filteredOut(only, object({ storageClass: 'GLACIER' }))).toBe('storageClass');
    expect(filteredOut(only, object({ storageClass: 'STANDARD_IA' }))).toBeUndefined();
    expect(filteredOut(only, object({}))).toBeUndefined();
    const { filter: never } = loadSelection({ STORAGE_CLASS_EXCLUDE: 'GLACIER,DEEP_ARCHIVE' });
    expect(filteredOut(never, object({ storageClass: 'DEEP_ARCHIVE' }))).toBe('storageClass');
    expect(filteredOut(never, object({ storageClass: 'INTELLIGENT_TIERING' }))).toBeUndefined();
  });

  it("skip Intelligent-Tiering objects in an archive tier by the tier's name, which makes the sources read the tier", () => {
    const selection = loadSelection({ STORAGE_CLASS_EXCLUDE: 'GLACIER,ARCHIVE_ACCESS,DEEP_ARCHIVE_ACCESS' });
    expect(selection.readFields).toEqual(['storageClass', 'accessTier']);
    const tiered = (accessTier: string) => filteredOut(selection.filter, object({ storageClass: 'INTELLIGENT_TIERING', accessTier }));
    expect(tiered('DEEP_ARCHIVE_ACCESS')).toBe('storageClass');
    expect(tiered('ARCHIVE_ACCESS')).toBe('storageClass');
    expect(tiered('FREQUENT_ACCESS')).toBeUndefined();
    const { filter: only } = loadSelection({ STORAGE_CLASS_INCLUDE: 'INTELLIGENT_TIERING' });
    expect(filteredOut(only, object({ storageClass: 'INTELLIGENT_TIERING', accessTier: 'ARCHIVE_ACCESS' }))).toBeUndefined();
  });

  it('skip by size, both bounds included', () => {
    const { filter } = loadSelection({ MIN_SIZE: '1', MAX_SIZE: '100' });
    expect([0, 1, 100, 101].map((size) => filteredOut(filter, object({ size })))).toEqual(['size', undefined, undefined, 'size']);
  });

  it('skip by last modified time: at or after the first bound, before the second; an object without a time is skipped', () => {
    const { filter } = loadSelection({ MODIFIED_AFTER: '2026-01-01T00:00:00Z', MODIFIED_BEFORE: '2026-02-01T00:00:00Z' });
    const at = (lastModified: string) => filteredOut(filter, object({ lastModified }));
    expect(at('2025-12-31T23:59:59.999Z')).toBe('lastModified');
    expect(at('2026-01-01T00:00:00.000Z')).toBeUndefined();
    expect(at('2026-02-01T00:00:00.000Z')).toBe('lastModified');
    expect(filteredOut(filter, object({}))).toBe('lastModified');
  });

  it('are read from the variables, each checked by name, and make every source read what they need', () => {
    expect(loadSelection({ STORAGE_CLASS_EXCLUDE: 'GLACIER', MIN_SIZE: '1' }).readFields).toEqual(['storageClass', 'size']);
    expect(loadSelection({}).filter).toEqual({});
    expect(() => loadSelection({ STORAGE_CLASS_INCLUDE: 'GLACIAL' })).toThrow(
      'STORAGE_CLASS_INCLUDE "GLACIAL": "GLACIAL" is not a storage class',
    );
    expect(() => loadSelection({ MIN_SIZE: '-1' })).toThrow('MIN_SIZE "-1" must be a whole number of bytes');
    expect(() => loadSelection({ MODIFIED_BEFORE: 'yesterday' })).toThrow('MODIFIED_BEFORE "yesterday" is not an ISO 8601 time');
    expect(() => loadSelection({ MIN_SIZE: '10', MAX_SIZE: '5' })).toThrow('MIN_SIZE is above MAX_SIZE');
  });
});
