import type { Payload } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { reportCategory, reportDedupeKey, reportPriority } from './report-policy.ts';

type Hit = Payload<'match.found.v1'>['matches'][number];
const hit = (category: string | null): Hit => ({
  listId: 'l',
  listVersion: 1,
  action: 'quarantine',
  algorithm: 'pdq',
  entryId: null,
  category,
  distance: 0,
  threshold: 31,
  variant: 'orig',
});

describe('reportPriority', () => {
  it('is csam for CSAM-like labels, whatever their case or spelling', () => {
    for (const category of ['csam', 'CSAM', 'cse', 'CSE-A', 'child_exploitation', 'Child abuse']) {
      expect(reportPriority([hit(category)])).toBe('csam');
    }
  });

  it('is csam when any hit is unlabelled, unknown or CSAM-like (child safety first)', () => {
    expect(reportPriority([hit(null)])).toBe('csam');
    expect(reportPriority([hit('unknown')])).toBe('csam');
    expect(reportPriority([hit('  ')])).toBe('csam');
    expect(reportPriority([hit('terrorism'), hit(null)])).toBe('csam');
    expect(reportPriority([hit('ncii'), hit('csam')])).toBe('csam');
  });

  it('is other only when every hit is labelled with a non-CSAM category', () => {
    expect(reportPriority([hit('terrorism')])).toBe('other');
    expect(reportPriority([hit('ncii'), hit('terrorism')])).toBe('other');
  });

  it('is csam for no hits at all', () => {
    expect(reportPriority([])).toBe('csam');
  });
});

describe('reportCategory', () => {
  it('is the first non-null category, or null', () => {
    expect(reportCategory([hit(null), hit('ncii'), hit('csam')])).toBe('ncii');
    expect(reportCategory([hit(null)])).toBeNull();
  });
});

describe('reportDedupeKey', () => {
  const sha256 = 'a'.repeat(64);
  const object = { tenantId: 't1', bucket: 'b', key: 'k', size: 1 };

  it('is tenant:account:sha256, with unknown for an anonymous upload', () => {
    expect(reportDedupeKey({ object, hashes: { sha256 }, uploader: { accountId: 'acc' } })).toBe(`t1:acc:${sha256}`);
    expect(reportDedupeKey({ object, hashes: { sha256 } })).toBe(`t1:unknown:${sha256}`);
  });

  it('stays within the 200-character id limit, deterministically', () => {
    const long = { object: { ...object, tenantId: 't'.repeat(150) }, hashes: { sha256 }, uploader: { accountId: 'a'.repeat(150) } };
    const key = reportDedupeKey(long);
    expect(key.length).toBeLessThanOrEqual(200);
    expect(reportDedupeKey(long)).toBe(key);
    expect(reportDedupeKey({ ...long, uploader: { accountId: 'b'.repeat(150) } })).not.toBe(key);
  });
});
