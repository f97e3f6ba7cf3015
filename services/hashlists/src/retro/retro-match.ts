// Retro-matching: a list version's added entries against the content hashes of everything
// scanned before (stored by the scanner), in bulk, without fetching a single object again. The
// corpus join finds stored hashes (canonical, dihedral, derived views) near an added entry; each
// such content is then judged by the scanner's own query and decision (retro-decider.ts), so a
// list update finds what a scan would have found, and no more. Each match becomes a scan on the
// `retro` lane, a match with trigger `retro` whose hits name the list version that caught it,
// and match.found.v1 through the outbox: the actioner quarantines it, evidence and reporting
// follow, as for an upload.
//
// One run per list version, checkpointed in retro_runs: the corpus position advances in the
// same transaction as the candidates found up to it, and each candidate is marked in the same
// transaction as the match it became, so a crash anywhere resumes where it stopped and records
// nothing twice (the scan's event id is derived from list, version and content). Logs ids and
// counts only: never hashes of list entries.

import { randomUUID } from 'node:crypto';
import { appendAudit, enqueue, silentLogger, withTransaction, type Client, type Logger, type Pool } from '@vigil/db';
import { createEvent, nameBasedUuid, type Event, type Payload } from '@vigil/events';
import { loadListHeads, type ListHead } from '@vigil/lists';
import { isPerceptual } from '@vigil/matching';
import { DEFAULT_DETECTION_RULE, type Decision, type DetectionRule } from '@vigil/scanner';
import { DEFAULT_BREAKER, trippedEntries, type BreakerPolicy } from './breaker.ts';
import { readCorpusPage, type CorpusPage } from './corpus-pages.ts';
import { DeltaIndex, type DeltaEntry, type DeltaHit } from './delta-index.ts';
import { canPair, joinPasses, joinRadii, resumeAt, RetroDecider, type JoinPass, type StoredContentRow } from './retro-decider.ts';

export interface RetroDeps {
  pool: Pool;
  logger?: Logger;
  /** Producer of the events it publishes (default 'hashlists'). */
  producer?: string;
  now?: () => Date;
  /** Stored hashes per corpus page (default 50 000). */
  pageSize?: number;
  /** Matched objects recorded per transaction (default 500). */
  recordBatch?: number;
  breaker?: BreakerPolicy;
  /**
   * Rows seen this long before the run started are matched again at the end: a scan that began
   * under the previous version may commit its content row behind the checkpoint (default 60 s).
   */
  catchUpMs?: number;
  onProgress?: (progress: RetroProgress) => void;
  /** Worker threads matching pages (default: 2 for large deltas, in-process for small ones). */
  threads?: number;
  /** The scanner's detection rule (default DEFAULT_DETECTION_RULE): what a retro match must satisfy. */
  rule?: DetectionRule;
  /**
   * Largest delta searched past the list threshold in one pass over the corpus (default 10 000
   * entries, a daily delivery): crop-compensated, text-free and unblended views up to their cap,
   * and near misses a partner list could corroborate. Past about 32 bits the join probes 137
   * buckets a table instead of 17 (8 times the work a stored hash; at 1e5 entries its tables no
   * longer fit the memory bound either), so a larger delta (a whole list's first import) is
   * searched within the list threshold first, then past it a chunk of this many entries a pass
   * (joinPasses). 0: within the threshold only.
   */
  wideMaxDelta?: number;
}

export interface RetroRequest {
  listId: string;
  version: number;
  previousVersion: number | null;
  traceId?: string;
}

export interface RetroProgress {
  phase: 'matching' | 'recording';
  scanned: number;
  candidates: number;
  matched: number;
  /** While matching: the join pass (1-based) of how many (more than one for a large delta). */
  pass?: number;
  passes?: number;
}

export interface RetroSummary {
  listId: string;
  version: number;
  status: 'done' | 'skipped';
  /** Why nothing was matched (a disabled or allow list, an unknown version). */
  reason?: string;
  added: number;
  scanned: number;
  candidates: number;
  matched: number;
  suppressed: number;
  suspended: number;
  ms: number;
  /** The list's action, which its retro matches carry (absent when skipped). */
  action?: string;
}

const RETRO_NAMESPACE = 'vigil:retro';
/** pg_advisory_lock class of retro runs (outbox keys use 0x766968, migrations 0x766967). */
const RETRO_LOCK_CLASS = 0x766972;

/** Runs (or resumes) the retro-match of one list version to completion. Idempotent. */
export async function runRetroMatch(deps: RetroDeps, request: RetroRequest): Promise<RetroSummary> {
  const started = performance.now();
  const log = (deps.logger ?? silentLogger).child({ component: 'retro', listId: request.listId, version: request.version });
  const { pool } = deps;
  const head = (await loadListHeads(pool)).find((h) => h.id === request.listId);
  const skipped = (reason: string): RetroSummary => ({
    listId: request.listId, version: request.version, status: 'skipped', reason, added: 0, scanned: 0, candidates: 0, matched: 0, suppressed: 0, suspended: 0,
    ms: Math.round(performance.now() - started),
  });
  if (!head) return skipped('unknown list');
  if (!head.enabled) return skipped('list disabled');
  if (head.action === 'allow') return skipped('allow lists suppress matches; they never act');
  const exists = await pool.query('SELECT 1 FROM list_versions WHERE list_id = $1 AND version = $2 AND status = $3', [request.listId, request.version, 'active']);
  if (exists.rowCount === 0) return skipped('no such active version');

  // One runner per list version at a time (the CLI's in-process run and the hashlists role may
  // both pick it up): the second waits here, then finds the run done.
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1, hashtext($2))', [RETRO_LOCK_CLASS, `${request.listId}:${request.version}`]);
    return await runLocked(deps, head, request, log, started);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [RETRO_LOCK_CLASS, `${request.listId}:${request.version}`]).catch(() => undefined);
    lock.release();
  }
}

async function runLocked(deps: RetroDeps, head: ListHead, request: RetroRequest, log: Logger, started: number): Promise<RetroSummary> {
  const { pool } = deps;
  await pool.query(
    `INSERT INTO retro_runs (list_id, version, previous_version) VALUES ($1, $2, $3) ON CONFLICT (list_id, version) DO NOTHING`,
    [request.listId, request.version, request.previousVersion],
  );
  let run = await loadRun(pool, request.listId, request.version);
  if (run.status === 'matching') {
    await matchCorpus(deps, head, request, run, log);
    run = await loadRun(pool, request.listId, request.version);
  }
  if (run.status === 'recording') {
    await recordCandidates(deps, head, request, log);
    await pool.query(`UPDATE retro_runs SET status = 'done', finished_at = now(), updated_at = now() WHERE list_id = $1 AND version = $2`, [request.listId, request.version]);
    run = await loadRun(pool, request.listId, request.version);
  }
  const summary: RetroSummary = {
    listId: request.listId,
    version: request.version,
    status: 'done',
    added: run.added,
    scanned: Number(run.scanned),
    candidates: run.candidates,
    matched: run.matched,
    suppressed: run.suppressed,
    suspended: run.suspended,
    ms: Math.round(performance.now() - started),
    action: head.action,
  };
  log.info({ ...summary }, 'retro-match done');
  return summary;
}

interface RunRow {
  status: 'matching' | 'recording' | 'done';
  /** The join pass the checkpoint is in (joinPasses), and the corpus position within it. */
  pass: number;
  position: string;
  added: number;
  scanned: string;
  candidates: number;
  matched: number;
  suppressed: number;
  suspended: number;
  started_at: Date;
}

async function loadRun(pool: Pool, listId: string, version: number): Promise<RunRow> {
  const { rows } = await pool.query<RunRow>('SELECT * FROM retro_runs WHERE list_id = $1 AND version = $2', [listId, version]);
  return rows[0]!;
}

/** The version's additions still live now, minus entries the breaker suspended. */
async function loadDelta(pool: Pool, head: ListHead, request: RetroRequest): Promise<DeltaEntry[]> {
  const { rows } = await pool.query<{ hash: string; entry_id: string | null; category: string | null }>(
    `SELECT encode(e.hash, 'hex') AS hash, e.entry_id, e.category FROM list_entries e
      WHERE e.list_id = $1 AND e.added_in_version > $2 AND e.added_in_version <= $3 AND e.removed_in_version IS NULL
        AND NOT EXISTS (SELECT 1 FROM entry_suspensions s WHERE s.list_id = e.list_id AND s.algorithm = e.algorithm AND s.hash = e.hash AND s.status = 'suspended')
      ORDER BY e.id`,
    [head.id, request.previousVersion ?? 0, request.version],
  );
  return rows.map((r) => ({ hash: r.hash, ...(r.entry_id !== null && { externalId: r.entry_id }), ...((r.category ?? head.category) !== null && { category: (r.category ?? head.category)! }) }));
}

async function matchCorpus(deps: RetroDeps, head: ListHead, request: RetroRequest, run: RunRow, log: Logger): Promise<void> {
  const { pool } = deps;
  const delta = await loadDelta(pool, head, request);
  await pool.query('UPDATE retro_runs SET added = $3, updated_at = now() WHERE list_id = $1 AND version = $2', [head.id, request.version, delta.length]);
  if (delta.length > 0 && isPerceptual(head.algorithm)) {
    await streamCorpus(deps, head, request, run, delta, log);
  } else if (delta.length > 0) {
    // Exact digests: the content_hashes index answers directly, one set-based statement.
    const column = head.algorithm as 'md5' | 'sha1' | 'sha256';
    await pool.query(
      `INSERT INTO retro_candidates (list_id, version, content_id, entry_hash, entry_id, category, distance, variant)
       SELECT $1, $2, c.id, e.hash, e.entry_id, coalesce(e.category, $4), 0, 'exact'
         FROM list_entries e JOIN content_hashes c ON c.${column} = e.hash
        WHERE e.list_id = $1 AND e.added_in_version > $3 AND e.added_in_version <= $2 AND e.removed_in_version IS NULL
          AND NOT EXISTS (SELECT 1 FROM entry_suspensions s WHERE s.list_id = e.list_id AND s.algorithm = e.algorithm AND s.hash = e.hash AND s.status = 'suspended')
       ON CONFLICT DO NOTHING`,
      [head.id, request.version, request.previousVersion ?? 0, head.category],
    );
    await pool.query(
      `UPDATE retro_runs SET scanned = (SELECT count(*) FROM content_hashes WHERE ${column} IS NOT NULL), updated_at = now() WHERE list_id = $1 AND version = $2`,
      [head.id, request.version],
    );
  }
  await tripBreaker(deps, head, request, log);
}

/**
 * Joins the corpus with the delta, pass by pass (joinPasses: one for a daily delta; for a larger
 * one, within the threshold first, then past it a chunk of entries at a time), each from the
 * checkpoint. Every pass's candidates are judged against the whole delta, so a pass only
 * decides which stored content is looked at; finding a content again inserts nothing.
 */
async function streamCorpus(deps: RetroDeps, head: ListHead, request: RetroRequest, run: RunRow, delta: DeltaEntry[], log: Logger): Promise<void> {
  const { pool } = deps;
  const rule = deps.rule ?? DEFAULT_DETECTION_RULE;
  const pairing = await canPair(pool, head, delta.flatMap((e) => (e.externalId === undefined ? [] : [e.externalId])));
  const wide = joinRadii(rule, head, pairing);
  const passes = joinPasses(delta.length, wide, head.threshold, deps.wideMaxDelta ?? 10_000);
  if (passes.length > 1) {
    log.info({ added: delta.length, passes: passes.length, ...wide, threshold: head.threshold }, 'large delta: joined within the list threshold first, then past it in chunks');
  } else if (passes[0]!.radii.radius < wide.radius || passes[0]!.radii.compensatedRadius < wide.compensatedRadius) {
    log.warn({ added: delta.length, threshold: head.threshold }, 'wide join turned off (wideMaxDelta 0): crop-compensated and text-free views and near misses searched within the list threshold only');
  }
  await pool.query('UPDATE retro_runs SET passes = $3 WHERE list_id = $1 AND version = $2', [head.id, request.version, passes.length]);
  const decider = new RetroDecider(pool, head, request.version, delta, rule);
  const progress = { scanned: Number(run.scanned), candidates: run.candidates };
  // run.added is the delta's size when the run last started (matchCorpus updates it after).
  const resume = resumeAt({ pass: run.pass, position: BigInt(run.position), added: run.added }, delta.length);
  if (resume.pass !== run.pass) log.info({ was: run.added, now: delta.length }, 'the delta shrank since the run started: the wide passes start over');
  for (let pass = resume.pass; pass < passes.length; pass++) {
    const start = pass === resume.pass ? resume.position : 0n;
    await joinPass(deps, head, request, { ...passes[pass]!, index: pass, of: passes.length }, start, run.started_at, delta, decider, progress);
    if (pass + 1 < passes.length) {
      await pool.query(`UPDATE retro_runs SET pass = $3, position = 0, updated_at = now() WHERE list_id = $1 AND version = $2`, [head.id, request.version, pass + 1]);
    }
  }
  log.debug({ ...progress, passes: passes.length }, 'corpus matched');
}

/**
 * One pass: the corpus from `start` through the index of this pass's entries, reading pages
 * ahead; then the rows committed behind the checkpoint by scans that began before this version
 * was loaded. The first pass counts the rows read (`scanned`); later passes read them again.
 */
async function joinPass(
  deps: RetroDeps, head: ListHead, request: RetroRequest, pass: JoinPass & { index: number; of: number }, start: bigint, runStarted: Date,
  delta: DeltaEntry[], decider: RetroDecider, progress: { scanned: number; candidates: number },
): Promise<void> {
  const { pool } = deps;
  const index = new DeltaIndex(delta.slice(pass.from, pass.to), { ...pass.radii, dihedral: head.dihedral && head.algorithm === 'pdq', ...(deps.threads !== undefined && { threads: deps.threads }) });
  const algorithm = head.algorithm as 'pdq' | 'blockhash';
  const limit = deps.pageSize ?? 50_000;
  const read = (after: bigint) => readCorpusPage(pool, { algorithm, dihedral: index.dihedral, views: true, after, limit });
  const report = () => deps.onProgress?.({ phase: 'matching', ...progress, matched: 0, pass: pass.index + 1, passes: pass.of });
  // The database reads ahead while pages are matched (on worker threads for large deltas);
  // pages are committed strictly in order, so the checkpoint never passes an unmatched page.
  const depth = 3;
  const inflight: Array<{ page: CorpusPage; hits: Promise<DeltaHit[]> }> = [];
  let position = start;
  let after = start;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && inflight.length < depth) {
        const page = await read(after);
        if (!page) {
          exhausted = true;
          break;
        }
        after = page.lastId;
        const hits = index.matchPage(page);
        hits.catch(() => undefined);
        inflight.push({ page, hits });
      }
      const current = inflight.shift();
      if (!current) break;
      const found = await countingHits(pool, decider, await current.hits);
      await withTransaction(pool, async (client) => {
        progress.candidates += await insertCandidates(client, head, request, delta, found);
        if (pass.index === 0) progress.scanned += current.page.count;
        position = current.page.lastId;
        await client.query(
          `UPDATE retro_runs SET position = $3, scanned = $4, candidates = $5, updated_at = now() WHERE list_id = $1 AND version = $2`,
          [head.id, request.version, position.toString(), progress.scanned, progress.candidates],
        );
      });
      report();
    }
  } catch (err) {
    await index.close();
    throw err;
  }
  // Rows committed behind the checkpoint by scans that began before this version was loaded.
  const since = new Date(runStarted.getTime() - (deps.catchUpMs ?? 60_000));
  let sinceAfter = 0n;
  try {
    for (;;) {
      const page = await readCorpusPage(pool, { algorithm, dihedral: index.dihedral, views: true, after: sinceAfter, limit, seenSince: since, upTo: position });
      if (!page) break;
      sinceAfter = page.lastId;
      const found = await countingHits(pool, decider, await index.matchPage(page));
      const inserted = await withTransaction(pool, (client) => insertCandidates(client, head, request, delta, found));
      if (inserted > 0) {
        progress.candidates += inserted;
        await pool.query('UPDATE retro_runs SET candidates = $3 WHERE list_id = $1 AND version = $2', [head.id, request.version, progress.candidates]);
      }
    }
  } finally {
    await index.close();
  }
}

/** The stored hashes of these contents, as the decision reads them. */
async function loadContents(pool: Pool, ids: readonly string[]): Promise<StoredContentRow[]> {
  const { rows } = await pool.query<StoredContentRow>(
    `SELECT id, sha256, sha1, md5, pdq, pdq_quality, pdq_dihedral, blockhash, derived_hashes FROM content_hashes WHERE id = ANY($1::bigint[]) ORDER BY id`,
    [ids],
  );
  return rows;
}

/**
 * Of the join's (content, entry) pairs, the ones whose entry counts in the scanner's decision on
 * that content (allow lists aside), each at the distance and variant of its counting hit: the
 * candidates the breaker weighs and recording turns into matches.
 */
async function countingHits(pool: Pool, decider: RetroDecider, hits: DeltaHit[]): Promise<CountingHit[]> {
  if (hits.length === 0) return [];
  const out: CountingHit[] = [];
  for (const row of await loadContents(pool, [...new Set(hits.map((h) => h.contentId.toString()))])) {
    const { entries } = await decider.decide(row, { allow: false });
    for (const { entry, hit } of entries) out.push({ contentId: row.id, entry, distance: hit.distance, variant: hit.variant });
  }
  return out;
}

interface CountingHit {
  contentId: string;
  entry: number;
  distance: number;
  variant: string;
}

async function insertCandidates(client: Client, head: ListHead, request: RetroRequest, delta: DeltaEntry[], hits: CountingHit[]): Promise<number> {
  if (hits.length === 0) return 0;
  const result = await client.query(
    `INSERT INTO retro_candidates (list_id, version, content_id, entry_hash, entry_id, category, distance, variant)
     SELECT $1, $2, c, decode(h, 'hex'), e, k, d, v FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[]) AS t(c, h, e, k, d, v)
     ON CONFLICT DO NOTHING`,
    [
      head.id, request.version,
      hits.map((h) => h.contentId),
      hits.map((h) => delta[h.entry]!.hash),
      hits.map((h) => delta[h.entry]!.externalId ?? null),
      hits.map((h) => delta[h.entry]!.category ?? null),
      hits.map((h) => h.distance),
      hits.map((h) => h.variant),
    ],
  );
  return result.rowCount ?? 0;
}

/**
 * The circuit breaker, once per run, before anything is recorded: entries whose hits exceed
 * their list's baseline by far are suspended (and audited) and their candidates set aside.
 * Moves the run to `recording` in the same transaction.
 */
async function tripBreaker(deps: RetroDeps, head: ListHead, request: RetroRequest, log: Logger): Promise<void> {
  const policy = deps.breaker ?? DEFAULT_BREAKER;
  await withTransaction(deps.pool, async (client) => {
    const { rows: counts } = await client.query<{ hash: string; entry_id: string | null; n: number }>(
      `SELECT encode(entry_hash, 'hex') AS hash, min(entry_id) AS entry_id, count(*)::int AS n FROM retro_candidates
        WHERE list_id = $1 AND version = $2 AND outcome IS NULL GROUP BY entry_hash`,
      [head.id, request.version],
    );
    const { rows: base } = await client.query<{ baseline: number | null }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY n) AS baseline FROM (
         SELECT count(*) AS n FROM match_hits h JOIN matches m ON m.id = h.match_id
          WHERE h.list_id = $1 AND m.detected_at > now() - interval '30 days'
          GROUP BY h.algorithm, coalesce(h.entry_id, h.match_id)) AS per_entry`,
      [head.id],
    );
    const baseline = base[0]?.baseline ?? 1;
    const byHash = new Map(counts.map((c) => [c.hash, c.n]));
    const tripped = trippedEntries(byHash, baseline, policy);
    for (const { key: hash, hits, limit } of tripped) {
      const entryId = counts.find((c) => c.hash === hash)?.entry_id ?? null;
      await client.query(
        `INSERT INTO entry_suspensions (list_id, algorithm, hash, entry_id, list_version, hits, baseline, hit_limit)
         VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, $7, $8)
         ON CONFLICT (list_id, algorithm, hash) WHERE status = 'suspended' DO NOTHING`,
        [head.id, head.algorithm, hash, entryId, request.version, hits, baseline, limit],
      );
      await client.query(
        `UPDATE retro_candidates SET outcome = 'suspended' WHERE list_id = $1 AND version = $2 AND entry_hash = decode($3, 'hex') AND outcome IS NULL`,
        [head.id, request.version, hash],
      );
      await appendAudit(client, {
        actor: 'service:hashlists',
        action: 'hashlist.entry_suspended',
        subjectType: 'hash_list',
        subjectId: head.id,
        details: { listId: head.id, version: request.version, entryId, hits, limit, baseline },
      });
      log.warn({ entryId, hits, limit, baseline }, 'list entry matched far above its baseline: suspended for review');
    }
    await client.query(
      `UPDATE retro_runs SET status = 'recording', suspended = suspended + $3, updated_at = now() WHERE list_id = $1 AND version = $2 AND status = 'matching'`,
      [head.id, request.version, tripped.length],
    );
  });
}

interface CandidateContent extends StoredContentRow {
  tenant_id: string;
  bucket: string;
  object_key: string;
  version_id: string | null;
  size: string | null;
  content_type: string | null;
  /** The entries (hex) still pending for this content: suspended ones no longer count. */
  pending: string[];
  actioned: boolean;
  /** Who uploaded it, from its latest scan that knew (what the report must name). */
  uploader: Payload<'match.found.v1'>['uploader'] | null;
  uploaded_at: Date | null;
}

/** Turns pending candidates into matches, a batch of objects per transaction. */
async function recordCandidates(deps: RetroDeps, head: ListHead, request: RetroRequest, log: Logger): Promise<void> {
  const { pool } = deps;
  const decider = new RetroDecider(pool, head, request.version, await loadDelta(pool, head, request), deps.rule ?? DEFAULT_DETECTION_RULE);
  const batch = deps.recordBatch ?? 500;
  const now = deps.now ?? (() => new Date());
  const producer = deps.producer ?? 'hashlists';
  const traceId = request.traceId ?? randomUUID();
  for (;;) {
    const { rows } = await pool.query<CandidateContent>(
      `SELECT c.id, c.tenant_id, c.bucket, c.object_key, c.version_id, c.size, c.content_type, c.sha256, c.md5, c.sha1, c.pdq, c.pdq_quality,
              c.pdq_dihedral, c.blockhash, c.derived_hashes, u.uploader, u.uploaded_at,
              json_agg(encode(r.entry_hash, 'hex')) AS pending,
              EXISTS (SELECT 1 FROM matches m LEFT JOIN quarantine_records q ON q.match_id = m.id
                       WHERE m.tenant_id = c.tenant_id AND m.bucket = c.bucket AND m.object_key = c.object_key AND m.sha256 = c.sha256
                         AND m.action IN ('block', 'quarantine') AND (q.id IS NULL OR q.status IN ('pending', 'applied'))) AS actioned
         FROM retro_candidates r JOIN content_hashes c ON c.id = r.content_id
         LEFT JOIN LATERAL (SELECT x.uploader, x.uploaded_at FROM scans x
                             WHERE x.tenant_id = c.tenant_id AND x.bucket = c.bucket AND x.object_key = c.object_key
                               AND x.sha256 = c.sha256 AND x.uploader IS NOT NULL
                             ORDER BY x.scanned_at DESC LIMIT 1) u ON true
        WHERE r.list_id = $1 AND r.version = $2 AND r.outcome IS NULL
        GROUP BY c.id, u.uploader, u.uploaded_at ORDER BY c.id LIMIT $3`,
      [head.id, request.version, batch],
    );
    if (rows.length === 0) return;
    await withTransaction(pool, async (client) => {
      const events: Event[] = [];
      const outcomes = { recorded: [] as string[], suppressed: [] as string[], actioned: [] as string[] };
      const toRecord: Array<{ row: CandidateContent; decision: MatchedDecision }> = [];
      for (const row of rows) {
        if (row.actioned) {
          // Already quarantined (or on its way) for these very bytes: a second match adds nothing.
          outcomes.actioned.push(row.id);
          continue;
        }
        const { decision, entries } = await decider.decide(row, { allow: true, pending: new Set(row.pending) });
        // No added entry among the hits that count: an allow list covered them (a verdict resting
        // only on other lists' hits is not this version's to record).
        if (decision.verdict !== 'matched' || entries.length === 0) {
          outcomes.suppressed.push(row.id);
          continue;
        }
        toRecord.push({ row, decision });
        outcomes.recorded.push(row.id);
      }
      events.push(...(await recordRetroMatches(client, toRecord, { head, request, detectedAt: now(), producer, traceId })));
      await enqueue(client, events);
      for (const [outcome, ids] of [['recorded', outcomes.recorded], ['suppressed', outcomes.suppressed], ['already_actioned', outcomes.actioned]] as const) {
        if (ids.length === 0) continue;
        await client.query(
          `UPDATE retro_candidates SET outcome = $3 WHERE list_id = $1 AND version = $2 AND content_id = ANY($4::bigint[]) AND outcome IS NULL`,
          [head.id, request.version, outcome, ids],
        );
      }
      await client.query(
        `UPDATE retro_runs SET matched = matched + $3, suppressed = suppressed + $4, updated_at = now() WHERE list_id = $1 AND version = $2`,
        [head.id, request.version, events.length, outcomes.suppressed.length + outcomes.actioned.length],
      );
      if (events.length > 0) log.warn({ matched: events.length }, 'retro-match: stored content matched a new list version');
    });
    const { rows: progress } = await pool.query<{ scanned: string; candidates: number; matched: number }>(
      'SELECT scanned, candidates, matched FROM retro_runs WHERE list_id = $1 AND version = $2',
      [head.id, request.version],
    );
    deps.onProgress?.({ phase: 'recording', scanned: Number(progress[0]!.scanned), candidates: progress[0]!.candidates, matched: progress[0]!.matched });
  }
}

type MatchedDecision = Decision & { verdict: 'matched' };

/**
 * The scans (retro lane), matches (trigger retro) and hits of a batch of objects, set-based (a
 * few statements per batch, not per object), and their match.found.v1 events. A scan already
 * written by an earlier attempt (same derived event id) is skipped with its match and event.
 */
async function recordRetroMatches(
  client: Client,
  items: Array<{ row: CandidateContent; decision: MatchedDecision }>,
  context: { head: ListHead; request: RetroRequest; detectedAt: Date; producer: string; traceId: string },
): Promise<Event[]> {
  if (items.length === 0) return [];
  const { head, request, detectedAt } = context;
  const planned = items.map(({ row, decision }) => {
    const eventId = retroEventId(head.id, request.version, row.id);
    return { row, decision, eventId, scanId: `scan_${eventId}`, matchId: `match_${eventId}` };
  });
  const { rows: inserted } = await client.query<{ id: string }>(
    `INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, version_id, sha256, verdict, blocked, mode, lists, algorithm, threshold,
                        distance, scanned_at, lane, source, review, reused, match_id)
     SELECT s.id, s.event_id, s.tenant_id, s.bucket, s.object_key, s.version_id, decode(s.sha256, 'hex'), 'matched', s.blocked, 'fast', s.lists,
            s.algorithm, s.threshold, s.distance, $2, 'retro', 'retro', s.review, true, s.match_id
       FROM jsonb_to_recordset($1::jsonb) AS s(id text, event_id uuid, tenant_id text, bucket text, object_key text, version_id text, sha256 text,
                                                blocked boolean, lists jsonb, algorithm text, threshold int, distance int, review boolean, match_id text)
     ON CONFLICT (event_id) DO NOTHING RETURNING id`,
    [
      JSON.stringify(planned.map(({ row, decision, eventId, scanId, matchId }) => ({
        id: scanId, event_id: eventId, tenant_id: row.tenant_id, bucket: row.bucket, object_key: row.object_key, version_id: row.version_id,
        sha256: row.sha256.toString('hex'), blocked: decision.blocked, lists: listsOf(decision), algorithm: decision.decisive.algorithm,
        threshold: decision.decisive.threshold, distance: decision.decisive.distance, review: decision.review, match_id: matchId,
      }))),
      detectedAt,
    ],
  );
  const fresh = new Set(inserted.map((r) => r.id));
  const recorded = planned.filter((p) => fresh.has(p.scanId));
  if (recorded.length === 0) return [];
  await client.query(
    `INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, version_id, sha256, detected_at)
     SELECT m.id, m.scan_id, 'retro', m.action, m.tenant_id, m.bucket, m.object_key, m.version_id, decode(m.sha256, 'hex'), $2
       FROM jsonb_to_recordset($1::jsonb) AS m(id text, scan_id text, action text, tenant_id text, bucket text, object_key text, version_id text, sha256 text)`,
    [
      JSON.stringify(recorded.map(({ row, decision, scanId, matchId }) => ({
        id: matchId, scan_id: scanId, action: decision.action, tenant_id: row.tenant_id, bucket: row.bucket, object_key: row.object_key,
        version_id: row.version_id, sha256: row.sha256.toString('hex'),
      }))),
      detectedAt,
    ],
  );
  await client.query(
    `INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, entry_id, category, distance, threshold, variant,
                             query, corroborated, unstable)
     SELECT h.match_id, h.ordinal, h."listId", h."listVersion", h.action, h.algorithm, h."entryId", h.category, h.distance, h.threshold, h.variant,
            h.query, coalesce(h.corroborated, false), coalesce(h.unstable, false)
       FROM jsonb_to_recordset($1::jsonb) AS h(match_id text, ordinal int, "listId" text, "listVersion" int, action text, algorithm text,
                                                "entryId" text, category text, distance int, threshold int, variant text, query text, corroborated boolean,
                                                unstable boolean)`,
    [JSON.stringify(recorded.flatMap(({ decision, matchId }) => decision.hits.map((hit, ordinal) => ({ match_id: matchId, ordinal, ...hit }))))],
  );
  return recorded.map(({ row, decision, scanId, matchId }) => {
    const object: Payload<'match.found.v1'>['object'] = {
      tenantId: row.tenant_id,
      bucket: row.bucket,
      key: row.object_key,
      ...(row.version_id !== null && { versionId: row.version_id }),
      size: Number(row.size ?? 0),
      ...(row.content_type !== null && { contentType: row.content_type }),
    };
    return createEvent(
      'match.found.v1',
      {
        matchId,
        scanId,
        trigger: 'retro',
        action: decision.action,
        object,
        hashes: {
          sha256: row.sha256.toString('hex'),
          ...(row.sha1 && { sha1: row.sha1.toString('hex') }),
          ...(row.md5 && { md5: row.md5.toString('hex') }),
          ...(row.pdq && { pdq: row.pdq.toString('hex'), pdqQuality: row.pdq_quality ?? 0 }),
          ...(row.blockhash && { blockhash: row.blockhash.toString('hex') }),
        },
        matches: decision.hits.map((m) => ({ ...m })),
        ...(row.uploader && { uploader: row.uploader }),
        ...(row.uploaded_at && { uploadedAt: row.uploaded_at.toISOString() }),
        detectedAt: detectedAt.toISOString(),
      },
      { producer: context.producer, traceId: context.traceId, now: () => detectedAt },
    );
  });
}

/** A UUID fixed by (list, version, content): a re-run finds the scan it already wrote. */
export function retroEventId(listId: string, version: number, contentId: string): string {
  return nameBasedUuid(RETRO_NAMESPACE, `${listId}:${version}:${contentId}`);
}

/** The list versions a decision's hits name: the scan's `lists`. */
function listsOf(decision: MatchedDecision): Array<{ listId: string; version: number }> {
  const seen = new Map<string, number>();
  for (const hit of decision.hits) seen.set(hit.listId, hit.listVersion);
  return [...seen].map(([listId, version]) => ({ listId, version }));
}

/** Every retro match a list version produced: what `vigil lists import --json` prints. */
export async function retroMatchesOf(pool: Pool, listId: string, version: number): Promise<Array<{ object: string; matchId: string; list: string; version: number; distance: number; variant: string }>> {
  const { rows } = await pool.query<{ id: string; tenant_id: string; bucket: string; object_key: string; distance: number; variant: string }>(
    `SELECT m.id, m.tenant_id, m.bucket, m.object_key, h.distance, h.variant FROM matches m JOIN match_hits h ON h.match_id = m.id AND h.ordinal = 0
      WHERE m.trigger = 'retro' AND h.list_id = $1 AND h.list_version = $2 ORDER BY m.tenant_id, m.bucket, m.object_key`,
    [listId, version],
  );
  return rows.map((r) => ({ object: `${r.bucket}/${r.object_key}`, matchId: r.id, list: listId, version, distance: r.distance, variant: r.variant }));
}
