-- Two things a recorded scan did not keep (issue 9):
-- 1. Whether a PDQ hit came from an unstable hash (a view below Meta's quality floor of 50, which
--    counts alone only near-exact): it travelled in the events' provenance only, so the audit
--    trail in match_hits could not tell such a hit from any other.
-- 2. The newest computation of a content's perceptual hashes. derived_hashes already took the
--    newest (with the views they were computed for, `computed`, and the hashing version), but the
--    canonical pdq, pdq_quality, pdq_dihedral and blockhash kept the first ever written, so
--    content hashed again after a hashing change (HASHING_VERSION) would pair new views with old
--    canonical hashes. A scan that could not hash the pixels writes NULLs, which keep the stored
--    hashes as before.
ALTER TABLE match_hits ADD COLUMN unstable boolean NOT NULL DEFAULT false;

-- record_scan (0012) writing both; same signature.
CREATE OR REPLACE FUNCTION record_scan(scan jsonb, content jsonb, match jsonb, hits jsonb, events jsonb)
RETURNS TABLE (recorded boolean, scan_id text, match_id text)
LANGUAGE plpgsql AS $$
DECLARE
  s scans%ROWTYPE := jsonb_populate_record(NULL::scans, scan);
  c content_hashes%ROWTYPE;
  m matches%ROWTYPE;
BEGIN
  INSERT INTO scans (id, event_id, upload_id, rescan_id, tenant_id, bucket, object_key, version_id, sha256, verdict,
                     unscannable_reason, blocked, mode, lists, algorithm, threshold, distance, scanned_at, lane, source,
                     review, reused, match_id, timings, uploader, uploaded_at)
  VALUES (s.id, s.event_id, s.upload_id, s.rescan_id, s.tenant_id, s.bucket, s.object_key, s.version_id, s.sha256, s.verdict,
          s.unscannable_reason, s.blocked, s.mode, coalesce(s.lists, '[]'), s.algorithm, s.threshold, s.distance, s.scanned_at,
          coalesce(s.lane, 'live'), s.source, coalesce(s.review, false), coalesce(s.reused, false), s.match_id, s.timings, s.uploader, s.uploaded_at)
  ON CONFLICT (event_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, x.id, x.match_id FROM scans AS x WHERE x.event_id = s.event_id;
    RETURN;
  END IF;

  IF content IS NOT NULL THEN
    c := jsonb_populate_record(NULL::content_hashes, content);
    INSERT INTO content_hashes AS h (tenant_id, bucket, object_key, version_id, size, content_type, sha256, md5, sha1, pdq,
                                     pdq_quality, pdq_dihedral, blockhash, derived_hashes, first_seen_at, last_seen_at, last_scan_id)
    VALUES (c.tenant_id, c.bucket, c.object_key, c.version_id, c.size, c.content_type, c.sha256, c.md5, c.sha1, c.pdq,
            c.pdq_quality, c.pdq_dihedral, c.blockhash, c.derived_hashes, c.last_seen_at, c.last_seen_at, c.last_scan_id)
    ON CONFLICT (tenant_id, bucket, object_key, version_id, sha256) DO UPDATE
      SET last_seen_at = greatest(h.last_seen_at, EXCLUDED.last_seen_at), last_scan_id = EXCLUDED.last_scan_id,
          pdq = coalesce(EXCLUDED.pdq, h.pdq), pdq_quality = coalesce(EXCLUDED.pdq_quality, h.pdq_quality),
          pdq_dihedral = coalesce(EXCLUDED.pdq_dihedral, h.pdq_dihedral), blockhash = coalesce(EXCLUDED.blockhash, h.blockhash),
          derived_hashes = coalesce(EXCLUDED.derived_hashes, h.derived_hashes);
  END IF;

  IF match IS NOT NULL THEN
    m := jsonb_populate_record(NULL::matches, match);
    INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, version_id, sha256, detected_at)
    VALUES (m.id, m.scan_id, m.trigger, m.action, m.tenant_id, m.bucket, m.object_key, m.version_id, m.sha256, m.detected_at);
    INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, entry_id, category, distance, threshold, variant,
                            query, corroborated, unstable)
    SELECT m.id, ordinality - 1, h->>'listId', (h->>'listVersion')::int, h->>'action', (h->>'algorithm')::hash_algorithm,
           h->>'entryId', h->>'category', (h->>'distance')::int, (h->>'threshold')::int, h->>'variant',
           h->>'query', coalesce((h->>'corroborated')::boolean, false), coalesce((h->>'unstable')::boolean, false)
      FROM jsonb_array_elements(hits) WITH ORDINALITY AS t(h, ordinality);
  END IF;

  PERFORM outbox_enqueue(events);
  RETURN QUERY SELECT true, s.id, s.match_id;
END
$$;
