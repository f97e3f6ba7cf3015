-- One round trip for the writes on the upload path. A check recorded statement by statement took
-- eight round trips (BEGIN, scan, content hashes, key lock, outbox, notify, COMMIT, plus the
-- lookup), each costing driver and server CPU that upload-time blocking pays in latency. These
-- functions run the same statements server-side; called outside a transaction they commit as
-- one implicit transaction, inside one they join it.

-- enqueue() in outbox.ts: per-key advisory locks in hash order (so one key's outbox ids follow
-- commit order and two enqueues cannot deadlock), the rows, and the relays' wake-up on commit.
-- 7760232 = 0x766968, the outbox key lock class (migrations use 0x766967).
CREATE FUNCTION outbox_enqueue(events jsonb, notify boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF jsonb_array_length(events) = 0 THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(7760232, h)
     FROM (SELECT DISTINCT hashtext(e->>'key') AS h FROM jsonb_array_elements(events) AS e ORDER BY 1) AS ordered;
  INSERT INTO outbox (event_id, type, key, event)
  SELECT (e->>'id')::uuid, e->>'type', e->>'key', e
    FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, n)
   ORDER BY n
  ON CONFLICT (event_id) DO NOTHING;
  IF notify THEN
    PERFORM pg_notify('vigil_outbox', NULL);
  END IF;
END
$$;

-- recordScan() in services/scanner: the scan (idempotent on its event id), the content's hashes,
-- the match and its hits, and the events. bytea fields arrive as '\x…' strings.
-- Returns whether this call recorded the scan, and the scan and match ids that stand.
CREATE FUNCTION record_scan(scan jsonb, content jsonb, match jsonb, hits jsonb, events jsonb)
RETURNS TABLE (recorded boolean, scan_id text, match_id text)
LANGUAGE plpgsql AS $$
DECLARE
  s scans%ROWTYPE := jsonb_populate_record(NULL::scans, scan);
  c content_hashes%ROWTYPE;
  m matches%ROWTYPE;
BEGIN
  INSERT INTO scans (id, event_id, upload_id, rescan_id, tenant_id, bucket, object_key, version_id, sha256, verdict,
                     unscannable_reason, blocked, mode, lists, algorithm, threshold, distance, scanned_at, lane, source,
                     review, reused, match_id)
  VALUES (s.id, s.event_id, s.upload_id, s.rescan_id, s.tenant_id, s.bucket, s.object_key, s.version_id, s.sha256, s.verdict,
          s.unscannable_reason, s.blocked, s.mode, coalesce(s.lists, '[]'), s.algorithm, s.threshold, s.distance, s.scanned_at,
          coalesce(s.lane, 'live'), s.source, coalesce(s.review, false), coalesce(s.reused, false), s.match_id)
  ON CONFLICT (event_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, x.id, x.match_id FROM scans AS x WHERE x.event_id = s.event_id;
    RETURN;
  END IF;

  IF content IS NOT NULL THEN
    c := jsonb_populate_record(NULL::content_hashes, content);
    INSERT INTO content_hashes AS h (tenant_id, bucket, object_key, version_id, size, content_type, sha256, md5, sha1, pdq,
                                     pdq_quality, pdq_dihedral, blockhash, first_seen_at, last_seen_at, last_scan_id)
    VALUES (c.tenant_id, c.bucket, c.object_key, c.version_id, c.size, c.content_type, c.sha256, c.md5, c.sha1, c.pdq,
            c.pdq_quality, c.pdq_dihedral, c.blockhash, c.last_seen_at, c.last_seen_at, c.last_scan_id)
    ON CONFLICT (tenant_id, bucket, object_key, version_id, sha256) DO UPDATE
      SET last_seen_at = greatest(h.last_seen_at, EXCLUDED.last_seen_at), last_scan_id = EXCLUDED.last_scan_id,
          pdq = coalesce(h.pdq, EXCLUDED.pdq), pdq_quality = coalesce(h.pdq_quality, EXCLUDED.pdq_quality),
          pdq_dihedral = coalesce(h.pdq_dihedral, EXCLUDED.pdq_dihedral), blockhash = coalesce(h.blockhash, EXCLUDED.blockhash);
  END IF;

  IF match IS NOT NULL THEN
    m := jsonb_populate_record(NULL::matches, match);
    INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, version_id, sha256, detected_at)
    VALUES (m.id, m.scan_id, m.trigger, m.action, m.tenant_id, m.bucket, m.object_key, m.version_id, m.sha256, m.detected_at);
    INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, entry_id, category, distance, threshold, variant)
    SELECT m.id, ordinality - 1, h->>'listId', (h->>'listVersion')::int, h->>'action', (h->>'algorithm')::hash_algorithm,
           h->>'entryId', h->>'category', (h->>'distance')::int, (h->>'threshold')::int, h->>'variant'
      FROM jsonb_array_elements(hits) WITH ORDINALITY AS t(h, ordinality);
  END IF;

  PERFORM outbox_enqueue(events);
  RETURN QUERY SELECT true, s.id, s.match_id;
END
$$;
