-- The ops dashboard (issue 8): indexes for the reads a page polling every two seconds makes.
-- Without them each panel scans the whole scans table; with them a snapshot reads only the
-- windows it shows (measured over 1e5 scans in services/gateway's dashboard tests).

-- Scans in a time window: the last 60 minutes per minute, the last 24 hours, the last 15
-- minutes' timings.
CREATE INDEX scans_scanned_at ON scans (scanned_at);
-- The latest decisions that were not a plain clean verdict, newest first. The predicate is the
-- dashboard query's own, so the planner walks this small index instead of sorting every scan.
CREATE INDEX scans_recent_decisions ON scans (scanned_at DESC) WHERE verdict <> 'clean' OR review;
-- Matches per list over the last 24 hours.
CREATE INDEX matches_detected_at ON matches (detected_at);
