-- Retro-matching with the scanner's views (issue 9): a list version's new entries must also find
-- stored content through its derived views, as a scan would. The retro join streams the corpus
-- as packed bytea pages, so the views' hashes are kept packed beside the canonical ones, 32 bytes
-- each, back to back (NULL when there are none), in two groups the join searches at different
-- radii:
--   view_pdq         the content region's and the downscale-compensated PDQ: they count within
--                    the list threshold, like the canonical hash;
--   compensated_pdq  the crop-compensated and text-free PDQ: they count a few bits past it, under
--                    their own cap;
--   view_blockhash   the content region's blockhash.
-- Generated from derived_hashes, so every writer (record_scan's insert and its "newest computation
-- wins" update) keeps them in step, and existing rows are filled when the columns are added.
-- Which view a hash came from is not kept here: the join only finds candidates, whose verdict is
-- decided again from derived_hashes.

-- plpgsql walking the arrays by index: 2.5 to 24 times faster than a set-returning SQL function
-- here (it runs for every row when the columns are added, and on every content write).
CREATE FUNCTION content_view_hashes(derived jsonb, field text, views text[]) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  packed bytea;
  name text;
  node jsonb;
  hash text;
BEGIN
  FOREACH name IN ARRAY views LOOP
    node := derived -> name;
    IF jsonb_typeof(node) = 'object' THEN
      node := jsonb_build_array(node);
    ELSIF jsonb_typeof(node) IS DISTINCT FROM 'array' THEN
      CONTINUE;
    END IF;
    FOR i IN 0 .. jsonb_array_length(node) - 1 LOOP
      hash := node -> i ->> field;
      IF hash ~ '^[0-9a-f]{64}$' THEN
        packed := coalesce(packed, ''::bytea) || decode(hash, 'hex');
      END IF;
    END LOOP;
  END LOOP;
  RETURN packed;
END
$$;

ALTER TABLE content_hashes
  ADD COLUMN view_pdq bytea GENERATED ALWAYS AS (content_view_hashes(derived_hashes, 'pdq', '{region,alternateRegion,upscaled}')) STORED,
  ADD COLUMN compensated_pdq bytea GENERATED ALWAYS AS (content_view_hashes(derived_hashes, 'pdq', '{uncropped,overlayFree}')) STORED,
  ADD COLUMN view_blockhash bytea GENERATED ALWAYS AS (content_view_hashes(derived_hashes, 'blockhash', '{region,alternateRegion}')) STORED;
