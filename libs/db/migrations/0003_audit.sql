-- The audit log: append-only and hash-chained. Every row stores the previous row's hash and
-- row_hash = sha256(prev_hash || audit_canonical(row)), so removing or altering a row breaks the
-- chain at that point (verifyAuditChain). Triggers refuse UPDATE, DELETE and TRUNCATE outright;
-- the chain is what still catches a superuser who disables them. Anchor the head hash outside
-- the database (logs, evidence manifests) to also catch a rewrite of the whole tail.

CREATE TABLE audit_log (
  -- Assigned by the chaining trigger under the head lock: 1, 2, 3, ... with no gaps.
  seq          bigint PRIMARY KEY,
  -- Set by the trigger (clock_timestamp() once the head is locked): no backdating, and time
  -- never runs backwards along the chain unless the server clock does.
  occurred_at  timestamptz NOT NULL,
  actor        text NOT NULL CHECK (actor <> ''),
  action       text NOT NULL CHECK (action <> ''),
  subject_type text NOT NULL,
  subject_id   text NOT NULL,
  details      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
  prev_hash    bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  row_hash     bytea NOT NULL UNIQUE CHECK (octet_length(row_hash) = 32)
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id);

-- The chain's head: one row, the last seq and hash (genesis: seq 0, 32 zero bytes). Appenders
-- lock it, which serialises appends so the chain never forks.
CREATE TABLE audit_head (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  seq      bigint NOT NULL,
  row_hash bytea NOT NULL CHECK (octet_length(row_hash) = 32)
);
INSERT INTO audit_head (seq, row_hash) VALUES (0, decode(repeat('00', 32), 'hex'));

-- The canonical text a row's hash covers: a JSON array of its fields in a fixed order. jsonb's
-- text form is deterministic (normalised keys and spacing), and the timestamp is rendered in UTC
-- so the session's TimeZone cannot change it.
CREATE FUNCTION audit_canonical(seq bigint, occurred_at timestamptz, actor text, action text,
                                subject_type text, subject_id text, details jsonb) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN jsonb_build_array(seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           actor, action, subject_type, subject_id, details)::text;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_head%ROWTYPE;
BEGIN
  -- Under READ COMMITTED a concurrent appender waits here, then reads the committed head. Under
  -- REPEATABLE READ or SERIALIZABLE it fails with serialization_failure (40001), which
  -- withTransaction retries. The lock is held to commit: append late in a transaction.
  SELECT * INTO head FROM audit_head FOR UPDATE;
  NEW.seq := head.seq + 1;
  NEW.occurred_at := clock_timestamp();
  NEW.prev_hash := head.row_hash;
  NEW.row_hash := sha256(NEW.prev_hash || convert_to(audit_canonical(NEW.seq, NEW.occurred_at, NEW.actor, NEW.action,
                                                                      NEW.subject_type, NEW.subject_id, NEW.details), 'UTF8'));
  UPDATE audit_head SET seq = NEW.seq, row_hash = NEW.row_hash;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- SQLSTATE VG002: an append-only table refused a change.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'VG002', MESSAGE = format('%s is append-only: %s refused', TG_TABLE_NAME, TG_OP);
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The head moves only from inside the chaining trigger (trigger depth 2); a direct UPDATE
-- (depth 1) would let someone "repair" the head after truncating the tail.
CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'VG002', MESSAGE = format('audit_head moves only by appending to audit_log: %s refused', TG_OP);
END
$$;

CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head FOR EACH ROW EXECUTE FUNCTION audit_head_guard();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
