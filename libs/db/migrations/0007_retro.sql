-- Hash-list updates and rescans (issue 7): retro-matching a list version's additions against the
-- stored content hashes (checkpointed per list version, so a crash resumes where it stopped),
-- the circuit breaker's entry suspensions, quarantines flagged when the entries they rested on
-- were withdrawn, checkpointed list sources, and checkpointed full rescans.

-- A retro-match pass records a scan like any other, on its own lane.
ALTER TABLE scans DROP CONSTRAINT scans_lane_check;
ALTER TABLE scans ADD CONSTRAINT scans_lane_check CHECK (lane IN ('live', 'bulk', 'check', 'retro'));

-- One retro-match run per list version. `position` is the last content_hashes.id matched: the
-- checkpoint. Phases: matching (corpus streamed through the delta index, candidates saved),
-- recording (candidates turned into matches and match.found.v1), done.
CREATE TABLE retro_runs (
  list_id          text NOT NULL,
  version          integer NOT NULL,
  previous_version integer,
  status           text NOT NULL DEFAULT 'matching' CHECK (status IN ('matching', 'recording', 'done')),
  position         bigint NOT NULL DEFAULT 0,
  added            integer NOT NULL DEFAULT 0,
  scanned          bigint NOT NULL DEFAULT 0,
  candidates       integer NOT NULL DEFAULT 0,
  matched          integer NOT NULL DEFAULT 0,
  suppressed       integer NOT NULL DEFAULT 0,
  suspended        integer NOT NULL DEFAULT 0,
  started_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  PRIMARY KEY (list_id, version),
  FOREIGN KEY (list_id, version) REFERENCES list_versions (list_id, version)
);

-- The retro-match's catch-up pass: content (re)seen around the time a run started, which a scan
-- under the previous list version may have committed behind the run's checkpoint.
CREATE INDEX content_hashes_last_seen ON content_hashes (last_seen_at);

-- Stored content within the list's threshold of an added entry, before recording. One row per
-- (content, entry): re-matching a page after a crash inserts nothing twice.
CREATE TABLE retro_candidates (
  list_id    text NOT NULL,
  version    integer NOT NULL,
  content_id bigint NOT NULL REFERENCES content_hashes (id),
  entry_hash bytea NOT NULL,
  entry_id   text,
  category   text,
  distance   smallint NOT NULL CHECK (distance BETWEEN 0 AND 256),
  variant    text NOT NULL,
  -- recorded: became (part of) a match; suppressed: an allow list or an existing quarantine
  -- covered it; suspended: its entry tripped the circuit breaker.
  outcome    text CHECK (outcome IN ('recorded', 'suppressed', 'suspended', 'already_actioned')),
  PRIMARY KEY (list_id, version, content_id, entry_hash),
  FOREIGN KEY (list_id, version) REFERENCES retro_runs (list_id, version)
);
CREATE INDEX retro_candidates_pending ON retro_candidates (list_id, version, content_id) WHERE outcome IS NULL;

-- The circuit breaker: an entry matching far above its list's baseline (a benign stock image on
-- a poisoned list) is suspended, and stays so until a person reinstates or confirms it. While
-- suspended it is skipped by retro-matching and by corpus lookups.
CREATE TABLE entry_suspensions (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  list_id         text NOT NULL REFERENCES hash_lists (id),
  algorithm       hash_algorithm NOT NULL,
  hash            bytea NOT NULL,
  entry_id        text,
  list_version    integer NOT NULL,
  hits            integer NOT NULL CHECK (hits >= 0),
  baseline        real NOT NULL,
  hit_limit       integer NOT NULL,
  status          text NOT NULL DEFAULT 'suspended' CHECK (status IN ('suspended', 'reinstated', 'confirmed')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  decided_by      text,
  decision_reason text,
  CHECK ((status = 'suspended') = (decided_at IS NULL)),
  CHECK (status = 'suspended' OR (decided_by IS NOT NULL AND decision_reason IS NOT NULL))
);
CREATE UNIQUE INDEX entry_suspensions_active ON entry_suspensions (list_id, algorithm, hash) WHERE status = 'suspended';

-- A quarantine whose every supporting list entry was withdrawn (a tombstone): flagged for a
-- person to review and release. Never released automatically.
CREATE TABLE quarantine_flags (
  id              text PRIMARY KEY,
  quarantine_id   text NOT NULL REFERENCES quarantine_records (id),
  match_id        text NOT NULL REFERENCES matches (id),
  list_id         text NOT NULL,
  list_version    integer NOT NULL,
  reason          text NOT NULL CHECK (reason IN ('entries_withdrawn')),
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'kept', 'released')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  decided_by      text,
  decision_reason text,
  UNIQUE (quarantine_id, list_id, list_version),
  FOREIGN KEY (list_id, list_version) REFERENCES list_versions (list_id, version)
);
CREATE INDEX quarantine_flags_open ON quarantine_flags (created_at) WHERE status = 'open';

-- Where a list source's incremental fetch stands (an upstream cursor, timestamp or etag).
CREATE TABLE hashlist_source_checkpoints (
  source_id  text PRIMARY KEY,
  list_id    text NOT NULL,
  kind       text NOT NULL,
  checkpoint jsonb NOT NULL CHECK (jsonb_typeof(checkpoint) = 'object'),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A full rescan: what it enumerates, how far it got (the last key or content id published, in
-- the same transaction as the events), and its pace.
CREATE TABLE rescan_runs (
  id           text PRIMARY KEY,
  source       text NOT NULL,
  tenant_id    text NOT NULL,
  reason       text NOT NULL CHECK (reason IN ('hashing_changed', 'never_hashed', 'operator')),
  requested_by text NOT NULL,
  rate         real CHECK (rate > 0),
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
  position     text,
  published    bigint NOT NULL DEFAULT 0,
  total        bigint,
  started_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
