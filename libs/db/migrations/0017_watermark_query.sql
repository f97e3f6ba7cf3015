-- Faint watermarks (issue 9): an image under a faint watermark over the whole picture is also
-- matched by its PDQ with the watermark unblended, a query of its own (`watermark`) beside the
-- caption-free `overlay`: content_hashes.derived_hashes' overlayFree entries gain
-- {"unblended": true} (jsonb: no schema change; migration 0016's compensated_pdq packs them with
-- the rest). Like crop and overlay compensation, such a hit counts alone a step past its list's
-- threshold (the detection rule's cap: threshold + 1, 32 at most), so both constraints name it.
ALTER TABLE match_hits DROP CONSTRAINT match_hits_query;
ALTER TABLE match_hits ADD CONSTRAINT match_hits_query CHECK (query ~ '^(region|uncrop-[0-9]{1,2}|upscale-[0-9]|overlay|watermark)$');
ALTER TABLE match_hits DROP CONSTRAINT match_hits_within_threshold;
ALTER TABLE match_hits ADD CONSTRAINT match_hits_within_threshold
  CHECK (distance <= threshold OR corroborated OR query ~ '^(uncrop-[0-9]{1,2}|overlay|watermark)$');
