// The demo's pure parts: when an outcome is final, which copies count as missed, the totals,
// and the rendered summary (the synthetic notice first and last, what was missed and why, what
// did not finish). The whole demo runs end to end in test/demo.test.ts.
import { describe, expect, it } from 'vitest';
import { isSettled, pendingStep, renderSummary, SYNTHETIC_NOTICE, totalsOf, withMisses, type DemoOutcome, type DemoSummary, type DemoUploadResult } from './demo-summary.ts';
import { MISS_REASONS } from './demo-scenario.ts';

const hit = { list: 'demo-synthetic-pdq', listVersion: 1, algorithm: 'pdq', distance: 10, variant: 'orig' };
const done: DemoOutcome = {
  scanId: 'scan_1', verdict: 'matched', action: 'quarantine', hit,
  quarantine: { id: 'q_1', status: 'applied' },
  evidence: { id: 'ev_1', retainUntil: '2027-11-22T01:00:00.000Z' },
  report: { id: 'rp_1', status: 'filed' },
};

function upload(name: string, role: DemoUploadResult['role'], outcome: DemoOutcome, extra: Partial<DemoUploadResult> = {}): DemoUploadResult {
  return { name, role, description: `${name} description`, ...outcome, ...extra };
}

describe('isSettled and pendingStep', () => {
  it('waits for a quarantining match until its quarantine, evidence and a filed or held report exist', () => {
    expect(isSettled(done)).toBe(true);
    expect(isSettled({ ...done, report: { id: 'rp_1', status: 'held', reason: 'not_reportable: x' } })).toBe(true);
    const { evidence: _e, ...noEvidence } = done;
    expect(isSettled(noEvidence)).toBe(false);
    expect(pendingStep(noEvidence)).toBe('quarantined, evidence not preserved yet');
    const queued = { ...done, report: { id: 'rp_1', status: 'queued' } };
    expect(isSettled(queued)).toBe(false);
    expect(pendingStep(queued)).toBe('report still queued');
    const pending = { ...done, quarantine: { id: 'q_1', status: 'pending' } };
    expect(isSettled(pending)).toBe(false);
    expect(pendingStep(pending)).toBe('quarantine still pending');
    const { quarantine: _q, ...unquarantined } = done;
    expect(pendingStep(unquarantined)).toBe('matched, no quarantine recorded yet');
  });

  it('settles clean, unscannable, review and failed-quarantine outcomes at once, and never a missing verdict', () => {
    expect(isSettled({ scanId: 's', verdict: 'clean' })).toBe(true);
    expect(isSettled({ scanId: 's', verdict: 'unscannable', reason: 'truncated' })).toBe(true);
    expect(isSettled({ scanId: 's', verdict: 'matched', action: 'review' })).toBe(true);
    expect(isSettled({ scanId: 's', verdict: 'matched', action: 'quarantine', quarantine: { id: 'q', status: 'failed', reason: 'content_changed' } })).toBe(true);
    expect(isSettled({ scanId: '', verdict: 'none' })).toBe(false);
    expect(pendingStep({ scanId: '', verdict: 'none' })).toBe('no verdict');
  });
});

describe('withMisses and totalsOf', () => {
  const uploads = withMisses([
    upload('listed-a.jpg', 'listed', done),
    upload('a-resized.jpg', 'copy', done, { of: 'listed-a.jpg', transform: 'resized' }),
    upload('f-reencoded.jpg', 'copy', { scanId: 's3', verdict: 'clean' }, { of: 'f-exact.jpg', transform: 're-encoded' }),
    upload('e-banner.jpg', 'copy', { scanId: 's4', verdict: 'clean' }, { of: 'listed-e.jpg', transform: 'banner' }),
    upload('unrelated-1.jpg', 'unrelated', { scanId: 's5', verdict: 'clean' }),
    upload('unrelated-2.jpg', 'unrelated', { ...done, report: { id: 'rp_9', status: 'held', reason: 'not_reportable: benign' } }),
    upload('truncated.jpg', 'unscannable', { scanId: 's7', verdict: 'unscannable', reason: 'truncated' }),
    upload('late.jpg', 'copy', { scanId: '', verdict: 'none' }, { of: 'listed-a.jpg', transform: 'flipped' }),
  ]);

  it('marks only copies that came back clean as missed, with the reason for their transform', () => {
    expect(uploads.filter((u) => u.missed).map((u) => [u.name, u.missed])).toEqual([
      ['f-reencoded.jpg', MISS_REASONS['re-encoded']],
      ['e-banner.jpg', MISS_REASONS.banner],
    ]);
  });

  it('counts verdicts, follow-ups, misses and false positives across uploads, the check and the retro catch', () => {
    const check = { ...done, of: 'listed-a.jpg', answer: 'block', reused: true, ms: 30 };
    const retro = { list: 'demo-synthetic-pdq', version: 2, added: 1, storedHashesChecked: 16, ms: 100, objectReads: 0, caught: [{ ...done, name: 'unrelated-1.jpg' }] };
    expect(totalsOf(uploads, check, retro)).toEqual({
      uploads: 8, matched: 3, clean: 3, unscannable: 1, blocked: 1, quarantined: 5, preserved: 5,
      reports: { filed: 4, held: 1, other: 0 }, missed: 2, falsePositives: 1,
    });
    expect(totalsOf(uploads, null, null)).toMatchObject({ blocked: 0, quarantined: 3, reports: { filed: 2, held: 1, other: 0 } });
  });
});

describe('renderSummary', () => {
  const summary = (over: Partial<DemoSummary> = {}): DemoSummary => {
    const uploads = withMisses([
      upload('listed-a.jpg', 'listed', done),
      upload('d-cropped.jpg', 'copy', { ...done, hit: { ...hit, distance: 16, query: 'uncrop-5' } }, { of: 'listed-d.jpg', transform: 'cropped', description: 'centred crop' }),
      upload('e-banner.jpg', 'copy', { scanId: 's4', verdict: 'clean' }, { of: 'listed-e.jpg', transform: 'banner', description: 'dark banner' }),
      upload('f-exact.jpg', 'listed', { ...done, report: { id: 'rp_f', status: 'held', reason: 'not_reportable: category benign-demo is not child sexual exploitation' } }),
    ]);
    const check = { ...done, of: 'listed-a.jpg', answer: 'block', reused: true, ms: 34 };
    const retro = { list: 'demo-synthetic-pdq', version: 2, added: 1, storedHashesChecked: 16, ms: 214, objectReads: 0, caught: [{ ...done, name: 'unrelated-2.jpg', hit: { ...hit, listVersion: 2, distance: 0 } }] };
    return {
      notice: SYNTHETIC_NOTICE, home: '/home/demo', complete: true, unfinished: [],
      lists: [{ name: 'demo-synthetic-pdq', algorithm: 'pdq', threshold: 31, dihedral: true, versions: [{ version: 1, entries: 5, added: 5 }, { version: 2, entries: 6, added: 1 }] }],
      uploads, check, retro, totals: totalsOf(uploads, check, retro), reportsDir: '/home/demo/reports-outbox',
      timings: { startMs: 1800, generateMs: 1200, listsMs: 300, scanMs: 2000, followUpsMs: 4300, checkMs: 34, retroMs: 1100, totalMs: 9300 },
      ...over,
    };
  };

  it('says the images are synthetic and benign on its first and last lines', () => {
    const lines = renderSummary(summary()).trimEnd().split('\n');
    expect(lines[0]).toBe(`VIGIL DEMO — ${SYNTHETIC_NOTICE}`);
    expect(lines.at(-1)).toBe(`VIGIL DEMO — ${SYNTHETIC_NOTICE}`);
    expect(SYNTHETIC_NOTICE).toMatch(/synthetic and benign/);
  });

  it('shows each upload, the check, the retro catch, ids with retention, totals, misses with reasons and timings', () => {
    const text = renderSummary(summary());
    expect(text).toContain('List demo-synthetic-pdq: pdq +rotations/flips, threshold 31; v1: 5 entries, v2: 6 entries (+1)');
    expect(text).toMatch(/d-cropped\.jpg\s+│ copy of listed-d: centred crop\s+│ matched: quarantine\s+│ demo-synthetic-pdq v1 pdq d16 \(uncrop-5\)\s+│ quarantined, preserved, report filed/);
    expect(text).toMatch(/e-banner\.jpg\s+│ copy of listed-e: dark banner\s+│ clean: MISSED/);
    expect(text).toContain('Upload-time check (POST /v1/check): listed-a.jpg re-uploaded by another account -> block in 34 ms (bytes seen before');
    expect(text).toContain('Retro-match: demo-synthetic-pdq v2 added 1 entry; 16 stored hashes checked in 214 ms, 0 uploaded objects read');
    expect(text).toContain('caught unrelated-2.jpg (clean when uploaded): demo-synthetic-pdq v2 pdq d0; quarantined, preserved, report filed');
    expect(text).toContain('evidence ev_1 kept until 2027-11-22; report rp_1 filed');
    expect(text).toContain('report rp_f held (not_reportable)');
    expect(text).toContain('Blocked at upload: 1   Quarantined: 5   Evidence preserved: 5   Reports: 4 filed to the local outbox, 1 held');
    expect(text).toContain(`e-banner.jpg (copy of listed-e.jpg: dark banner): ${MISS_REASONS.banner}`);
    expect(text).toContain('Timings: pipeline start 1.8 s, images 1.2 s, lists 0.3 s, verdicts 2.0 s, quarantine+evidence+reports 4.3 s, check 34 ms, retro 1.1 s; total 9.3 s');
    expect(text).not.toContain('INCOMPLETE');
  });

  it('says plainly what did not finish', () => {
    const text = renderSummary(summary({ complete: false, unfinished: ['b-rotated.jpg: no verdict within 60 s (its event stays queued)', 'retro catch unrelated-2.jpg: report still queued'] }));
    expect(text).toContain('INCOMPLETE: the pipeline did not finish:\n  - b-rotated.jpg: no verdict within 60 s (its event stays queued)\n  - retro catch unrelated-2.jpg: report still queued');
  });

  it('says when nothing was missed', () => {
    const s = summary();
    const uploads = s.uploads.filter((u) => !u.missed);
    expect(renderSummary({ ...s, uploads })).toContain('Missed: none of the planted copies.');
  });
});
