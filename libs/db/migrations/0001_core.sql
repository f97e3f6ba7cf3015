-- Core schema (DESIGN §4): hash lists, their versions and entries; scans with decision
-- provenance; the content hashes of every object ever scanned (the retro-match corpus); matches;
-- quarantine records; reports. Ids that travel in events (scanId, matchId, ...) are the primary
-- keys, so a redelivered event finds the row it already wrote. Hashes are bytea: half the size
-- of hex text, compared bytewise, and their length is checked per algorithm.

-- Algorithm ids are storage keys (STYLE.md): lowercase, stable, never renamed.
CREATE DOMAIN hash_algorithm AS text CHECK (VALUE IN ('pdq', 'blockhash', 'sha256', 'sha1', 'md5'));

CREATE FUNCTION hash_length(algorithm text) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE algorithm WHEN 'pdq' THEN 32 WHEN 'blockhash' THEN 32 WHEN 'sha256' THEN 32 WHEN 'sha1' THEN 20 WHEN 'md5' THEN 16 END;

-- One row per list manifest (hashlists/). List ids are storage keys too.
CREATE TABLE hash_lists (
  id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  name            text NOT NULL,
  algorithm       hash_algorithm NOT NULL,
  action          text NOT NULL CHECK (action IN ('block', 'quarantine', 'review', 'allow')),
  -- Hamming radius for perceptual algorithms; exact algorithms match at distance 0 only.
  threshold       smallint NOT NULL CHECK (threshold BETWEEN 0 AND 256),
  category        text,
  source          text NOT NULL,
  current_version integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (algorithm IN ('pdq', 'blockhash') OR threshold = 0)
);

CREATE TABLE list_versions (
  list_id          text NOT NULL REFERENCES hash_lists (id),
  version          integer NOT NULL CHECK (version > 0),
  previous_version integer,
  -- The upstream's own label for what was imported (version string, etag), and the imported
  -- file's sha256: a version can be traced back to its source bytes.
  source_version   text,
  source_sha256    bytea CHECK (octet_length(source_sha256) = 32),
  status           text NOT NULL DEFAULT 'importing' CHECK (status IN ('importing', 'active', 'failed')),
  entry_count      integer NOT NULL DEFAULT 0 CHECK (entry_count >= 0),
  added            integer NOT NULL DEFAULT 0 CHECK (added >= 0),
  removed          integer NOT NULL DEFAULT 0 CHECK (removed >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  activated_at     timestamptz,
  PRIMARY KEY (list_id, version),
  FOREIGN KEY (list_id, previous_version) REFERENCES list_versions (list_id, version),
  CHECK (previous_version IS NULL OR previous_version < version)
);

-- Set in the same transaction that activates a version, hence deferred.
ALTER TABLE hash_lists ADD FOREIGN KEY (id, current_version) REFERENCES list_versions (list_id, version)
  DEFERRABLE INITIALLY DEFERRED;

-- Entries are versioned by interval rather than copied per version: an entry belongs to version
-- v when added_in_version <= v AND (removed_in_version IS NULL OR removed_in_version > v). A new
-- version writes only its diff, and any past version (a scan's provenance) can be rebuilt.
CREATE TABLE list_entries (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  list_id            text NOT NULL,
  algorithm          hash_algorithm NOT NULL,
  hash               bytea NOT NULL,
  -- The source's id for the entry, when it has one; category as the source labels it.
  entry_id           text,
  category           text,
  metadata           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  added_in_version   integer NOT NULL,
  removed_in_version integer,
  FOREIGN KEY (list_id, added_in_version) REFERENCES list_versions (list_id, version),
  FOREIGN KEY (list_id, removed_in_version) REFERENCES list_versions (list_id, version),
  CHECK (octet_length(hash) = hash_length(algorithm)),
  CHECK (removed_in_version IS NULL OR removed_in_version > added_in_version)
);
-- One live row per hash per list; diffs and imports look entries up by it.
CREATE UNIQUE INDEX list_entries_live ON list_entries (list_id, algorithm, hash) WHERE removed_in_version IS NULL;
-- Exact lookups across every list (the gateway's /v1/lookup, exact-hash matching).
CREATE INDEX list_entries_hash ON list_entries (algorithm, hash) WHERE removed_in_version IS NULL;
CREATE INDEX list_entries_removed ON list_entries (list_id, removed_in_version) WHERE removed_in_version IS NOT NULL;

-- One scan per event that asked for one (upload.received, rescan.requested, or a retro-match
-- pass): event_id is unique, so a redelivered event cannot produce a second verdict.
CREATE TABLE scans (
  id                 text PRIMARY KEY,
  event_id           uuid NOT NULL UNIQUE,
  upload_id          text,
  rescan_id          text,
  tenant_id          text NOT NULL,
  bucket             text NOT NULL,
  object_key         text NOT NULL,
  version_id         text,
  sha256             bytea CHECK (octet_length(sha256) = 32),
  verdict            text NOT NULL CHECK (verdict IN ('clean', 'matched', 'unscannable')),
  unscannable_reason text CHECK (unscannable_reason IN
                       ('too_large', 'too_many_pixels', 'truncated', 'unsupported_format', 'decode_error', 'timeout', 'empty')),
  -- Whether the object was blocked (a match, or the fail-closed unscannable policy).
  blocked            boolean NOT NULL,
  mode               text NOT NULL CHECK (mode IN ('fast', 'reference')),
  -- Decision provenance: every list version consulted, as [{"listId", "version"}], so the
  -- verdict can be reproduced; and the comparison that decided it (the nearest match, or for a
  -- clean scan the nearest candidate when one was within reach). Every hit is in match_hits.
  lists              jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(lists) = 'array'),
  algorithm          hash_algorithm,
  threshold          smallint CHECK (threshold BETWEEN 0 AND 256),
  distance           smallint CHECK (distance BETWEEN 0 AND 256),
  scanned_at         timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  CHECK ((verdict = 'unscannable') = (unscannable_reason IS NOT NULL)),
  CHECK (verdict <> 'matched' OR blocked OR distance IS NOT NULL)
);
CREATE INDEX scans_object ON scans (tenant_id, bucket, object_key, scanned_at DESC);
CREATE INDEX scans_upload ON scans (upload_id) WHERE upload_id IS NOT NULL;
-- "Which scans relied on list L version v" (a list version later found faulty).
CREATE INDEX scans_lists ON scans USING gin (lists jsonb_path_ops);

-- Every distinct content ever scanned under an object identity: the corpus a new list version
-- is retro-matched against. A key overwritten with new bytes gets a new row; the old content's
-- hashes stay, since it may have been served before it was replaced.
CREATE TABLE content_hashes (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     text NOT NULL,
  bucket        text NOT NULL,
  object_key    text NOT NULL,
  version_id    text,
  size          bigint CHECK (size >= 0),
  content_type  text,
  sha256        bytea NOT NULL CHECK (octet_length(sha256) = 32),
  md5           bytea CHECK (octet_length(md5) = 16),
  sha1          bytea CHECK (octet_length(sha1) = 20),
  pdq           bytea CHECK (octet_length(pdq) = 32),
  pdq_quality   smallint CHECK (pdq_quality BETWEEN 0 AND 100),
  blockhash     bytea CHECK (octet_length(blockhash) = 32),
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_scan_id  text REFERENCES scans (id),
  CHECK (last_seen_at >= first_seen_at),
  CHECK (pdq IS NULL OR pdq_quality IS NOT NULL),
  -- Unversioned buckets have no version id: NULLS NOT DISTINCT (Postgres 15+) keeps them unique.
  UNIQUE NULLS NOT DISTINCT (tenant_id, bucket, object_key, version_id, sha256)
);
-- Exact retro-matching: a new list entry's hash straight to every object that had it.
-- Near (Hamming) retro-matching streams pdq/blockhash into the in-memory index instead.
CREATE INDEX content_hashes_sha256 ON content_hashes (sha256);
CREATE INDEX content_hashes_md5 ON content_hashes (md5) WHERE md5 IS NOT NULL;
CREATE INDEX content_hashes_sha1 ON content_hashes (sha1) WHERE sha1 IS NOT NULL;
CREATE INDEX content_hashes_pdq ON content_hashes (pdq) WHERE pdq IS NOT NULL;
CREATE INDEX content_hashes_blockhash ON content_hashes (blockhash) WHERE blockhash IS NOT NULL;

-- A match.found: one per matchId, with every list hit that justified it in match_hits.
CREATE TABLE matches (
  id          text PRIMARY KEY,
  scan_id     text NOT NULL REFERENCES scans (id),
  trigger     text NOT NULL CHECK (trigger IN ('upload', 'retro', 'rescan')),
  -- The strongest action among the hits (allow lists already applied).
  action      text NOT NULL CHECK (action IN ('block', 'quarantine', 'review')),
  tenant_id   text NOT NULL,
  bucket      text NOT NULL,
  object_key  text NOT NULL,
  version_id  text,
  sha256      bytea NOT NULL CHECK (octet_length(sha256) = 32),
  detected_at timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX matches_object ON matches (tenant_id, bucket, object_key);
CREATE INDEX matches_scan ON matches (scan_id);

CREATE TABLE match_hits (
  match_id     text NOT NULL REFERENCES matches (id),
  ordinal      smallint NOT NULL CHECK (ordinal >= 0),
  list_id      text NOT NULL,
  list_version integer NOT NULL,
  action       text NOT NULL CHECK (action IN ('block', 'quarantine', 'review', 'allow')),
  algorithm    hash_algorithm NOT NULL,
  entry_id     text,
  category     text,
  distance     smallint NOT NULL CHECK (distance BETWEEN 0 AND 256),
  threshold    smallint NOT NULL CHECK (threshold BETWEEN 0 AND 256),
  variant      text NOT NULL CHECK (variant IN
                 ('orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1', 'exact')),
  PRIMARY KEY (match_id, ordinal),
  FOREIGN KEY (list_id, list_version) REFERENCES list_versions (list_id, version),
  CHECK (distance <= threshold)
);
-- "Every match list L version v produced": review after a bad list version.
CREATE INDEX match_hits_list ON match_hits (list_id, list_version);

-- One quarantine per match (match_id unique): a redelivered match.found finds it.
CREATE TABLE quarantine_records (
  id                    text PRIMARY KEY,
  match_id              text NOT NULL UNIQUE REFERENCES matches (id),
  tenant_id             text NOT NULL,
  bucket                text NOT NULL,
  object_key            text NOT NULL,
  version_id            text,
  status                text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'released', 'failed')),
  quarantine_bucket     text,
  quarantine_key        text,
  quarantine_version_id text,
  sha256                bytea CHECK (octet_length(sha256) = 32),
  size                  bigint CHECK (size >= 0),
  -- Public versions removed after the verified copy (all of them in a versioned bucket).
  removed_versions      text[] NOT NULL DEFAULT '{}',
  reason                text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  applied_at            timestamptz,
  released_at           timestamptz,
  CHECK (status <> 'applied' OR (applied_at IS NOT NULL AND quarantine_bucket IS NOT NULL
                                 AND quarantine_key IS NOT NULL AND sha256 IS NOT NULL)),
  CHECK (status <> 'released' OR released_at IS NOT NULL)
);
CREATE INDEX quarantine_records_object ON quarantine_records (tenant_id, bucket, object_key);

-- The report queue. dedupe_key is unique: one report per (uploader, content), whatever the
-- number of uploads or redeliveries. CSAM reports are worked first (priority_rank 0).
CREATE TABLE reports (
  id                 text PRIMARY KEY,
  report_request_id  text NOT NULL UNIQUE,
  match_id           text NOT NULL REFERENCES matches (id),
  dedupe_key         text NOT NULL UNIQUE,
  priority           text NOT NULL CHECK (priority IN ('csam', 'other')),
  priority_rank      smallint NOT NULL GENERATED ALWAYS AS (CASE priority WHEN 'csam' THEN 0 ELSE 1 END) STORED,
  category           text,
  tenant_id          text NOT NULL,
  bucket             text NOT NULL,
  object_key         text NOT NULL,
  version_id         text,
  -- queued -> submitting (claimed by a worker) -> filed | held (for a person) | failed;
  -- a failed submission goes back to queued with next_attempt_at pushed out.
  status             text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'submitting', 'filed', 'held', 'failed')),
  attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  last_error         text,
  external_report_id text,
  -- The report as built for the CyberTipline (uploader details included): sensitive.
  payload            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  filed_at           timestamptz,
  CHECK (status <> 'filed' OR (external_report_id IS NOT NULL AND filed_at IS NOT NULL))
);
-- The worker's claim: next due report, CSAM first, oldest first.
CREATE INDEX reports_queue ON reports (priority_rank, next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX reports_match ON reports (match_id);
