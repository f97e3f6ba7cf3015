-- Crop and overlay compensation hits (issue 9) count alone a few bits past their list's
-- threshold (the detection rule's caps: threshold + 5, 36 at most), without corroboration. The
-- 0009 constraint admitted only corroborated hits beyond the threshold, so recording a scan
-- such a hit decided failed, and the match was never stored: the constraint now names them too.
ALTER TABLE match_hits DROP CONSTRAINT match_hits_within_threshold;
ALTER TABLE match_hits ADD CONSTRAINT match_hits_within_threshold
  CHECK (distance <= threshold OR corroborated OR query ~ '^(uncrop-[0-9]{1,2}|overlay)$');
