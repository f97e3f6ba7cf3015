// The `vigil demo` summary: what was blocked, quarantined, preserved and reported, what was
// missed and why, and how long each phase took. Pure: built from the rows the demo read back
// from the database, rendered as text or as one JSON object. Names lists, versions, distances,
// ids and dates; never a hash of a list entry, never image bytes.

import Table from 'cli-table3';
import { MISS_REASONS, type PlantedUpload } from './demo-scenario.ts';

export const SYNTHETIC_NOTICE =
  'Every image in this demo is synthetic and benign: generated landscape scenes (seeded, made on this machine), never real content. ' +
  'The demo lists hold hashes of those scenes only.';

/** A match as the summary shows it: the decisive hit. */
export interface DemoHit {
  list: string;
  listVersion: number;
  algorithm: string;
  distance: number;
  variant: string;
  /** The extra query that matched (`uncrop-10`, `region`), when not the image as uploaded. */
  query?: string;
}

/** The state of one scan and what followed it, read back from the database. */
export interface DemoOutcome {
  /** Empty when no scan was recorded in time. */
  scanId: string;
  /** `none`: no verdict before the deadline. */
  verdict: 'clean' | 'matched' | 'unscannable' | 'none';
  reason?: string;
  action?: 'block' | 'quarantine' | 'review';
  hit?: DemoHit;
  quarantine?: { id: string; status: string; reason?: string };
  evidence?: { id: string; retainUntil: string };
  report?: { id: string; status: string; reason?: string };
}

export interface DemoUploadResult extends DemoOutcome {
  name: string;
  role: PlantedUpload['role'];
  description: string;
  of?: string;
  transform?: PlantedUpload['transform'];
  /** For a copy of a listed image that came back clean: the rule's known limit. */
  missed?: string;
}

export interface DemoListInfo {
  name: string;
  algorithm: string;
  threshold: number;
  dihedral: boolean;
  versions: Array<{ version: number; entries: number; added: number }>;
}

export interface DemoSummary {
  notice: string;
  home: string;
  /** True when every upload has its verdict and every match its quarantine, evidence and report. */
  complete: boolean;
  /** What did not finish (empty when complete). */
  unfinished: string[];
  lists: DemoListInfo[];
  uploads: DemoUploadResult[];
  check: (DemoOutcome & { of: string; answer: string; reused: boolean; ms: number }) | null;
  retro: {
    list: string;
    version: number;
    added: number;
    storedHashesChecked: number;
    ms: number;
    /** Reads of uploaded objects while the retro-match ran: it works from stored hashes. */
    objectReads: number;
    caught: Array<DemoOutcome & { name: string }>;
  } | null;
  totals: DemoTotals;
  reportsDir: string;
  timings: DemoTimings;
  dashboard?: string;
}

export interface DemoTotals {
  uploads: number;
  matched: number;
  clean: number;
  unscannable: number;
  /** Refused at upload time (POST /v1/check answered block). */
  blocked: number;
  quarantined: number;
  preserved: number;
  reports: { filed: number; held: number; other: number };
  /** Copies of listed images that came back clean. */
  missed: number;
  /** Images on no list that matched. */
  falsePositives: number;
}

export interface DemoTimings {
  startMs: number;
  generateMs: number;
  listsMs: number;
  /** From the first upload event to the last verdict. */
  scanMs: number;
  /** From the first upload to the last quarantine, evidence and report of the uploads. */
  followUpsMs: number;
  checkMs: number | null;
  retroMs: number | null;
  totalMs: number;
}

/** Final: a verdict, and for an acting match its quarantine done and, once applied, evidence and a filed or held report. */
export function isSettled(o: DemoOutcome): boolean {
  if (o.verdict === 'none') return false;
  if (o.verdict !== 'matched' || o.action === 'review') return true;
  if (!o.quarantine || !['applied', 'failed', 'released'].includes(o.quarantine.status)) return false;
  if (o.quarantine.status !== 'applied') return true;
  return o.evidence !== undefined && ['filed', 'held', 'failed'].includes(o.report?.status ?? '');
}

/** What an unsettled outcome still waits for, in words. */
export function pendingStep(o: DemoOutcome): string {
  if (o.verdict === 'none') return 'no verdict';
  if (!o.quarantine) return 'matched, no quarantine recorded yet';
  if (o.quarantine.status === 'pending') return 'quarantine still pending';
  if (!o.evidence) return 'quarantined, evidence not preserved yet';
  if (!o.report) return 'preserved, no report queued yet';
  return `report still ${o.report.status}`;
}

/** Marks missed copies with their reason. A copy is missed when it came back clean. */
export function withMisses(results: DemoUploadResult[]): DemoUploadResult[] {
  return results.map((r) => (r.role === 'copy' && r.verdict === 'clean' && r.transform ? { ...r, missed: MISS_REASONS[r.transform] } : r));
}

export function totalsOf(uploads: readonly DemoUploadResult[], check: DemoSummary['check'], retro: DemoSummary['retro']): DemoTotals {
  const outcomes: DemoOutcome[] = [...uploads, ...(check ? [check] : []), ...(retro?.caught ?? [])];
  const reports = { filed: 0, held: 0, other: 0 };
  for (const o of outcomes) {
    if (!o.report) continue;
    if (o.report.status === 'filed') reports.filed++;
    else if (o.report.status === 'held') reports.held++;
    else reports.other++;
  }
  return {
    uploads: uploads.length,
    matched: uploads.filter((u) => u.verdict === 'matched').length,
    clean: uploads.filter((u) => u.verdict === 'clean').length,
    unscannable: uploads.filter((u) => u.verdict === 'unscannable').length,
    blocked: check?.answer === 'block' ? 1 : 0,
    quarantined: outcomes.filter((o) => o.quarantine?.status === 'applied').length,
    preserved: outcomes.filter((o) => o.evidence).length,
    reports,
    missed: uploads.filter((u) => u.missed).length,
    falsePositives: uploads.filter((u) => u.role === 'unrelated' && u.verdict === 'matched').length,
  };
}

const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
const day = (iso: string) => iso.slice(0, 10);

function hitText(hit: DemoHit | undefined): string {
  if (!hit) return '';
  const how = [hit.variant !== 'orig' && hit.variant !== 'exact' ? hit.variant : '', hit.query ?? ''].filter(Boolean).join(', ');
  return `${hit.list} v${hit.listVersion} ${hit.algorithm} d${hit.distance}${how ? ` (${how})` : ''}`;
}

function verdictText(o: DemoOutcome): string {
  if (o.verdict === 'none') return 'NO VERDICT (timed out)';
  if (o.verdict === 'unscannable') return `unscannable (${o.reason ?? 'unknown'})`;
  return o.verdict === 'matched' ? `matched: ${o.action}` : 'clean';
}

/** Quarantine, evidence and report in a few words, for the table. */
function followUpShort(o: DemoOutcome): string {
  const parts = [
    o.quarantine ? (o.quarantine.status === 'applied' ? 'quarantined' : `quarantine ${o.quarantine.status}`) : '',
    o.evidence ? 'preserved' : '',
    o.report ? `report ${o.report.status}` : '',
  ];
  return parts.filter(Boolean).join(', ');
}

/** Ids and dates of what followed a match: what `vigil evidence ls` and `vigil reports ls` show. */
function followUpIds(o: DemoOutcome): string {
  const parts = [
    o.evidence ? `evidence ${o.evidence.id} kept until ${day(o.evidence.retainUntil)}` : '',
    o.report ? `report ${o.report.id} ${o.report.status}${o.report.status === 'held' && o.report.reason ? ` (${o.report.reason.split(':')[0]})` : ''}` : '',
  ];
  return parts.filter(Boolean).join('; ');
}

/** The human summary: the notice first and last, a table of uploads, the check, the retro catch, totals and timings. */
export function renderSummary(s: DemoSummary): string {
  const out: string[] = [];
  out.push(`VIGIL DEMO — ${s.notice}`, `Demo home: ${s.home} (its own lists, scans and evidence; nothing of yours is touched)`, '');
  for (const list of s.lists) {
    const versions = list.versions.map((v) => `v${v.version}: ${v.entries} entr${v.entries === 1 ? 'y' : 'ies'}${v.version > 1 ? ` (+${v.added})` : ''}`).join(', ');
    out.push(`List ${list.name}: ${list.algorithm}${list.dihedral ? ' +rotations/flips' : ''}, threshold ${list.threshold}; ${versions} (synthetic, benign)`);
  }
  out.push('', `Uploads (${s.uploads.length}, each stored in the upload bucket and announced as upload.received.v1):`);
  const table = new Table({ head: ['upload', 'what it is', 'verdict', 'match', 'then'], style: { head: [], border: [], compact: true } });
  for (const u of s.uploads) {
    const what = u.of ? `copy of ${u.of.replace(/\.jpg$/, '')}: ${u.description}` : u.description;
    table.push([u.name, what, u.missed ? 'clean: MISSED' : verdictText(u), hitText(u.hit), followUpShort(u)]);
  }
  out.push(table.toString(), '');
  if (s.check) {
    out.push(
      `Upload-time check (POST /v1/check): ${s.check.of} re-uploaded by another account -> ${s.check.answer} in ${s.check.ms} ms` +
        `${s.check.reused ? ' (bytes seen before: matched from stored hashes, no decode)' : ''}`,
      `  ${hitText(s.check.hit)}; ${followUpShort(s.check) || 'nothing followed'}`,
    );
  }
  if (s.retro) {
    out.push(
      `Retro-match: ${s.retro.list} v${s.retro.version} added ${s.retro.added} entr${s.retro.added === 1 ? 'y' : 'ies'}; ` +
        `${s.retro.storedHashesChecked} stored hashes checked in ${s.retro.ms} ms, ${s.retro.objectReads} uploaded objects read`,
    );
    if (s.retro.caught.length === 0) out.push('  caught nothing');
    for (const c of s.retro.caught) out.push(`  caught ${c.name} (clean when uploaded): ${hitText(c.hit)}; ${followUpShort(c) || 'nothing followed'}`);
  }
  const followed = [
    ...s.uploads.map((u) => [u.name, u] as const),
    ...(s.check ? [[`${s.check.of} (check)`, s.check] as const] : []),
    ...(s.retro?.caught ?? []).map((c) => [`${c.name} (retro)`, c] as const),
  ].filter(([, o]) => o.evidence || o.report);
  if (followed.length > 0) {
    out.push('', 'Preserved and reported (see vigil evidence ls, vigil reports ls with VIGIL_HOME set to the demo home):');
    const width = Math.max(...followed.map(([name]) => name.length));
    for (const [name, o] of followed) out.push(`  ${name.padEnd(width)}  ${followUpIds(o)}`);
  }
  const t = s.totals;
  out.push(
    '',
    `Blocked at upload: ${t.blocked}   Quarantined: ${t.quarantined}   Evidence preserved: ${t.preserved}   ` +
      `Reports: ${t.reports.filed} filed to the local outbox, ${t.reports.held} held${t.reports.other ? `, ${t.reports.other} pending` : ''}`,
    `Scans: ${t.uploads} uploads, ${t.matched} matched, ${t.clean} clean, ${t.unscannable} unscannable; false positives among unrelated images: ${t.falsePositives}`,
  );
  const held = [...s.uploads, ...(s.check ? [s.check] : []), ...(s.retro?.caught ?? [])].find((o) => o.report?.status === 'held');
  if (held?.report?.reason) out.push(`Held reports wait for a person (vigil reports ls), e.g.: ${held.report.reason}`);
  out.push(`Report files (for manual submission; no image bytes): ${s.reportsDir}`);
  const missed = s.uploads.filter((u) => u.missed);
  out.push('', missed.length === 0 ? 'Missed: none of the planted copies.' : `Missed (${missed.length} planted cop${missed.length === 1 ? 'y' : 'ies'} came back clean):`);
  for (const m of missed) out.push(`  ${m.name} (copy of ${m.of}: ${m.description}): ${m.missed}`);
  const tm = s.timings;
  out.push(
    '',
    `Timings: pipeline start ${seconds(tm.startMs)}, images ${seconds(tm.generateMs)}, lists ${seconds(tm.listsMs)}, ` +
      `verdicts ${seconds(tm.scanMs)}, quarantine+evidence+reports ${seconds(tm.followUpsMs)}, check ${tm.checkMs === null ? '-' : `${tm.checkMs} ms`}, ` +
      `retro ${seconds(tm.retroMs)}; total ${seconds(tm.totalMs)}`,
  );
  if (!s.complete) out.push('', `INCOMPLETE: the pipeline did not finish:`, ...s.unfinished.map((u) => `  - ${u}`));
  out.push('', `VIGIL DEMO — ${s.notice}`);
  return `${out.join('\n')}\n`;
}
