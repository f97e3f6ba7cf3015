-- The scanning pipeline (scanner, actioner, gateway): what lists the scanner loads and how, which
-- lane and source a scan came from, verdicts held for a person, and audited quarantine release.

-- Matching options per list. `dihedral`: also match rotated and flipped PDQ hashes. A disabled
-- list stays versioned (its scans' provenance still resolves) but no scanner loads it.
ALTER TABLE hash_lists ADD COLUMN dihedral boolean NOT NULL DEFAULT false;
ALTER TABLE hash_lists ADD COLUMN enabled boolean NOT NULL DEFAULT true;
ALTER TABLE hash_lists ADD CONSTRAINT hash_lists_dihedral_pdq CHECK (NOT dihedral OR algorithm = 'pdq');

-- The imported file's format, and entries whose metadata changed (same hash, new id or category).
ALTER TABLE list_versions ADD COLUMN format text;
ALTER TABLE list_versions ADD COLUMN changed integer NOT NULL DEFAULT 0 CHECK (changed >= 0);

-- `live`: upload events; `bulk`: rescans; `check`: the gateway's synchronous check.
ALTER TABLE scans ADD COLUMN lane text NOT NULL DEFAULT 'live' CHECK (lane IN ('live', 'bulk', 'check'));
-- The product the content came from (stream, workers, gateway, cli).
ALTER TABLE scans ADD COLUMN source text;
-- Held for a person: a `review` match, or an unscannable object the policy passed with a flag.
ALTER TABLE scans ADD COLUMN review boolean NOT NULL DEFAULT false;
-- Answered from the hashes stored for the same bytes (SHA-256) instead of decoding again.
ALTER TABLE scans ADD COLUMN reused boolean NOT NULL DEFAULT false;
-- The match.found this scan produced, if any.
ALTER TABLE scans ADD COLUMN match_id text;
CREATE INDEX scans_sha256 ON scans (sha256, scanned_at DESC) WHERE sha256 IS NOT NULL;

-- A `review` action holds the verdict for a person without moving bytes: one row per match.
CREATE TABLE reviews (
  id              text PRIMARY KEY,
  match_id        text NOT NULL UNIQUE REFERENCES matches (id),
  scan_id         text NOT NULL REFERENCES scans (id),
  tenant_id       text NOT NULL,
  bucket          text NOT NULL,
  object_key      text NOT NULL,
  version_id      text,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'dismissed')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  decided_by      text,
  decision_reason text,
  CHECK ((status = 'pending') = (decided_at IS NULL)),
  CHECK (status = 'pending' OR (decided_by IS NOT NULL AND decision_reason IS NOT NULL))
);
CREATE INDEX reviews_pending ON reviews (created_at) WHERE status = 'pending';

-- Release back to the original location happens only through the audited operation: who and
-- why are here and in the audit log, with the version the restored object got.
ALTER TABLE quarantine_records ADD COLUMN released_by text;
ALTER TABLE quarantine_records ADD COLUMN release_reason text;
ALTER TABLE quarantine_records ADD COLUMN restored_version_id text;
ALTER TABLE quarantine_records ADD CONSTRAINT quarantine_release_reasoned
  CHECK (status <> 'released' OR (released_by IS NOT NULL AND release_reason IS NOT NULL));

-- PDQ's seven rotated and flipped hashes (rot90, rot180, rot270, flipx, flipy, flipplus1,
-- flipminus1; 32 bytes each), stored with the content: they come from the DCT, not from the
-- canonical hash, so re-uploads and retro-matching against dihedral lists need them kept.
ALTER TABLE content_hashes ADD COLUMN pdq_dihedral bytea CHECK (octet_length(pdq_dihedral) = 224);
