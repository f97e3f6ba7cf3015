-- Evidence records (DESIGN §4): no update or delete before retain_until, enforced here so that
-- no code path, script or operator session can shorten what the law requires us to keep
-- (18 U.S.C. 2258A(h): preserve for one year after a report). The object bytes live in the
-- vault bucket under S3 Object Lock; this row is the record of where, what and until when.

CREATE TABLE evidence_items (
  id                  text PRIMARY KEY,
  -- One record per evidence.requested: a redelivery finds it instead of preserving twice.
  evidence_request_id text NOT NULL UNIQUE,
  match_id            text NOT NULL REFERENCES matches (id),
  quarantine_id       text REFERENCES quarantine_records (id),
  tenant_id           text NOT NULL,
  bucket              text NOT NULL,
  object_key          text NOT NULL,
  version_id          text,
  location_bucket     text NOT NULL,
  location_key        text NOT NULL,
  location_version_id text,
  manifest_key        text NOT NULL,
  manifest_sha256     bytea NOT NULL CHECK (octet_length(manifest_sha256) = 32),
  sha256              bytea NOT NULL CHECK (octet_length(sha256) = 32),
  size                bigint NOT NULL CHECK (size >= 0),
  retain_until        timestamptz NOT NULL,
  -- A legal hold keeps the record past retain_until until lifted (a case, a preservation request).
  legal_hold          boolean NOT NULL DEFAULT false,
  legal_hold_reason   text,
  preserved_at        timestamptz NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (retain_until > preserved_at),
  CHECK (NOT legal_hold OR legal_hold_reason IS NOT NULL)
);
CREATE INDEX evidence_items_match ON evidence_items (match_id);
CREATE INDEX evidence_items_expiry ON evidence_items (retain_until) WHERE NOT legal_hold;

-- While a row is retained (now() < retain_until, or under legal hold):
--   DELETE is refused;
--   UPDATE may only extend retain_until, place or lift a legal hold (with its reason); every
--   other column is frozen, and retain_until never moves earlier. Lifting a hold does not
--   shorten retention: the row stays until retain_until anyway.
-- Mirrors S3 Object Lock's compliance mode (retention only extends) plus its legal hold. After
-- expiry without a hold the row may be updated (disposal bookkeeping) or deleted.
-- SQLSTATE VG001 lets callers tell this refusal from other errors.
CREATE FUNCTION evidence_items_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  frozen CONSTANT text[] := ARRAY['retain_until', 'legal_hold', 'legal_hold_reason'];
BEGIN
  IF NOT (OLD.legal_hold OR OLD.retain_until > now()) THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION USING ERRCODE = 'VG001', MESSAGE = format('evidence %s is retained until %s%s: delete refused',
      OLD.id, OLD.retain_until, CASE WHEN OLD.legal_hold THEN ' and under legal hold' ELSE '' END);
  END IF;
  IF (to_jsonb(NEW) - frozen) IS DISTINCT FROM (to_jsonb(OLD) - frozen) THEN
    RAISE EXCEPTION 'evidence % is retained until %: only retain_until (extended) and the legal hold may change',
      OLD.id, OLD.retain_until USING ERRCODE = 'VG001';
  END IF;
  IF NEW.retain_until < OLD.retain_until THEN
    RAISE EXCEPTION 'evidence % is retained until %: retention can be extended, never shortened (to %)',
      OLD.id, OLD.retain_until, NEW.retain_until USING ERRCODE = 'VG001';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER evidence_items_guard BEFORE UPDATE OR DELETE ON evidence_items
  FOR EACH ROW EXECUTE FUNCTION evidence_items_guard();

-- TRUNCATE bypasses row triggers: refuse it while any row is retained.
CREATE FUNCTION evidence_items_guard_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM evidence_items WHERE legal_hold OR retain_until > now()) THEN
    RAISE EXCEPTION 'evidence_items holds retained evidence: truncate refused' USING ERRCODE = 'VG001';
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER evidence_items_guard_truncate BEFORE TRUNCATE ON evidence_items
  FOR EACH STATEMENT EXECUTE FUNCTION evidence_items_guard_truncate();
