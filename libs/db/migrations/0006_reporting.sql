-- Evidence vault and CyberTipline reporting (issue 6): who uploaded what (kept with the evidence),
-- the retention clock started by the report's receipt, expiry bookkeeping, and reports that
-- group every matched file of one account and incident window.

-- Uploader details from evidence.requested (the upload event carries them; scans do not store
-- them): kept with the evidence for the report, never logged. Set once, at preservation.
ALTER TABLE evidence_items ADD COLUMN uploader_account text;
ALTER TABLE evidence_items ADD COLUMN uploader_ip inet;
ALTER TABLE evidence_items ADD COLUMN uploader_user_agent text;
ALTER TABLE evidence_items ADD COLUMN uploaded_at timestamptz;
ALTER TABLE evidence_items ADD COLUMN detected_at timestamptz;
ALTER TABLE evidence_items ADD COLUMN manifest_version_id text;
-- How retain_until was set: `provisional` (policy days from preservation, before any report),
-- `report_receipt` (policy days from the CyberTipline receipt, 18 U.S.C. 2258A(h)).
ALTER TABLE evidence_items ADD COLUMN retention_basis text NOT NULL DEFAULT 'provisional'
  CHECK (retention_basis IN ('provisional', 'report_receipt'));
ALTER TABLE evidence_items ADD COLUMN report_id text;
ALTER TABLE evidence_items ADD COLUMN external_report_id text;
ALTER TABLE evidence_items ADD COLUMN reported_at timestamptz;

-- The guard of 0002, widened: while retained, a row may also record the report that starts its
-- clock (each report field set once, never changed or cleared) and its retention basis. Every
-- other rule stands: no delete, retain_until only extends.
CREATE OR REPLACE FUNCTION evidence_items_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  mutable CONSTANT text[] := ARRAY['retain_until', 'legal_hold', 'legal_hold_reason', 'retention_basis',
                                   'report_id', 'external_report_id', 'reported_at'];
BEGIN
  IF NOT (OLD.legal_hold OR OLD.retain_until > now()) THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION USING ERRCODE = 'VG001', MESSAGE = format('evidence %s is retained until %s%s: delete refused',
      OLD.id, OLD.retain_until, CASE WHEN OLD.legal_hold THEN ' and under legal hold' ELSE '' END);
  END IF;
  IF (to_jsonb(NEW) - mutable) IS DISTINCT FROM (to_jsonb(OLD) - mutable) THEN
    RAISE EXCEPTION 'evidence % is retained until %: only retain_until (extended) and the legal hold may change, and the report receipt be recorded once',
      OLD.id, OLD.retain_until USING ERRCODE = 'VG001';
  END IF;
  IF NEW.retain_until < OLD.retain_until THEN
    RAISE EXCEPTION 'evidence % is retained until %: retention can be extended, never shortened (to %)',
      OLD.id, OLD.retain_until, NEW.retain_until USING ERRCODE = 'VG001';
  END IF;
  -- An outbox placeholder (`outbox:<id>`, a report written for manual submission) gives way to
  -- NCMEC's id and receipt time once an operator records them.
  IF (OLD.report_id IS NOT NULL AND NEW.report_id IS DISTINCT FROM OLD.report_id)
     OR (OLD.external_report_id IS NOT NULL AND OLD.external_report_id NOT LIKE 'outbox:%'
         AND (NEW.external_report_id IS DISTINCT FROM OLD.external_report_id OR NEW.reported_at IS DISTINCT FROM OLD.reported_at))
     OR (OLD.reported_at IS NOT NULL AND (NEW.reported_at IS NULL OR NEW.reported_at < OLD.reported_at)) THEN
    RAISE EXCEPTION 'evidence %: the report receipt is recorded once and never changed', OLD.id USING ERRCODE = 'VG001';
  END IF;
  RETURN NEW;
END
$$;

-- Report receipts the evidence service has seen, per match: a report.filed that arrives before
-- the evidence is preserved still starts the clock once it is.
CREATE TABLE evidence_report_receipts (
  match_id           text NOT NULL REFERENCES matches (id),
  report_id          text NOT NULL,
  external_report_id text,
  received_at        timestamptz NOT NULL,
  recorded_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (match_id, report_id)
);

-- One row per evidence item removed by the expiry job: what it was, where, until when it had to
-- be kept and who removed it. Append-only like the audit log.
CREATE TABLE evidence_disposals (
  evidence_id     text PRIMARY KEY,
  match_id        text NOT NULL,
  tenant_id       text NOT NULL,
  location_bucket text NOT NULL,
  location_key    text NOT NULL,
  manifest_key    text NOT NULL,
  sha256          bytea NOT NULL CHECK (octet_length(sha256) = 32),
  retain_until    timestamptz NOT NULL,
  disposed_at     timestamptz NOT NULL,
  disposed_by     text NOT NULL CHECK (disposed_by <> ''),
  -- Object versions removed from the vault (content and manifest).
  removed_objects integer NOT NULL CHECK (removed_objects >= 0),
  CHECK (disposed_at >= retain_until)
);
CREATE TRIGGER evidence_disposals_append_only BEFORE UPDATE OR DELETE ON evidence_disposals FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER evidence_disposals_no_truncate BEFORE TRUNCATE ON evidence_disposals FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- A report is one CyberTipline report: every matched file of one account in one incident
-- window (dedupe_key = tenant, account, window start and a sequence for files that arrive
-- after the window's report left). report_request_id and match_id name its first file.
ALTER TABLE reports ADD COLUMN account_id text;
ALTER TABLE reports ADD COLUMN window_start timestamptz;
ALTER TABLE reports ADD COLUMN window_seq integer NOT NULL DEFAULT 1 CHECK (window_seq > 0);
ALTER TABLE reports ADD COLUMN incident_at timestamptz;
-- Why a person must look at it (status held): missing data, a refusal, an unknown outcome.
ALTER TABLE reports ADD COLUMN held_reason text;
ALTER TABLE reports ADD COLUMN sink text;
-- The sink's report id while a submission is open (NcmecSink: submitted, not yet finished), and
-- how far it got: a retry retracts an open one, and never files again after `finishing`.
ALTER TABLE reports ADD COLUMN submission_id text;
ALTER TABLE reports ADD COLUMN submission_stage text CHECK (submission_stage IN ('opened', 'finishing'));
ALTER TABLE reports ADD COLUMN claimed_until timestamptz;
ALTER TABLE reports ADD CONSTRAINT reports_held_reasoned CHECK (status <> 'held' OR held_reason IS NOT NULL);
CREATE INDEX reports_open_window ON reports (tenant_id, account_id, window_start) WHERE status IN ('queued', 'held');
CREATE INDEX reports_stale_claims ON reports (claimed_until) WHERE status = 'submitting';

-- Every report.requested, attached to the report that carries it. A file whose content the same
-- account already has in a report (same actioner dedupe key) is attached as a duplicate: it is
-- not sent twice, but its evidence still learns of the report that covers it.
CREATE TABLE report_files (
  report_request_id text PRIMARY KEY,
  report_id         text NOT NULL REFERENCES reports (id),
  match_id          text NOT NULL REFERENCES matches (id),
  content_key       text NOT NULL,
  duplicate_of      text REFERENCES report_files (report_request_id),
  priority          text NOT NULL CHECK (priority IN ('csam', 'other')),
  category          text,
  -- The report.requested payload (object, hashes, provenance, uploader): sensitive.
  request           jsonb NOT NULL CHECK (jsonb_typeof(request) = 'object'),
  detected_at       timestamptz NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  -- The sink's id for the uploaded file (NCMEC fileId), once sent.
  external_file_id  text
);
CREATE INDEX report_files_report ON report_files (report_id);
CREATE INDEX report_files_content ON report_files (content_key) WHERE duplicate_of IS NULL;
CREATE INDEX report_files_match ON report_files (match_id);
