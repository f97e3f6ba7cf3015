-- Overlay compensation (issue 9): an image carrying overlaid caption text (a watermark, a credit
-- line) is also matched by its PDQ with the text's pixels left out, so match_hits.query also
-- takes 'overlay'. content_hashes.derived_hashes gains
-- {"overlayFree": [{"factor", "pdq", "pdqQuality", "textShare"}]} (jsonb: no schema change).
ALTER TABLE match_hits DROP CONSTRAINT match_hits_query;
ALTER TABLE match_hits ADD CONSTRAINT match_hits_query CHECK (query ~ '^(region|uncrop-[0-9]{1,2}|upscale-[0-9]|overlay)$');
