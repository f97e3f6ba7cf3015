-- Downscale compensation (issue 9): a small image is also matched by the PDQ it would have at 2
-- or 4 times its size (a copy shared at half or a quarter of its original's size), so
-- match_hits.query also takes 'upscale-2', 'upscale-4'. content_hashes.derived_hashes gains
-- {"upscaled": [{"factor", "pdq", "pdqQuality"}]} (jsonb: no schema change).
DO $$
DECLARE
  name text;
BEGIN
  FOR name IN
    SELECT conname FROM pg_constraint
     WHERE conrelid = 'match_hits'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%query ~%'
  LOOP
    EXECUTE format('ALTER TABLE match_hits DROP CONSTRAINT %I', name);
  END LOOP;
END
$$;
ALTER TABLE match_hits ADD CONSTRAINT match_hits_query CHECK (query ~ '^(region|uncrop-[0-9]{1,2}|upscale-[0-9])$');
