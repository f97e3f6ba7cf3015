-- Retro-matching a large delta in passes (issue 9): a whole list's first import is joined within
-- the list threshold first, then past it (crop-compensated, text-free and unblended views to
-- their cap, corroborated near misses) a chunk of entries a pass, each pass streaming the corpus
-- from the start. The checkpoint names the pass its position belongs to (0-based); runs
-- checkpointed before this migration were single-pass, pass 0. `passes`: how many the run has,
-- once known (the dashboard shows "pass 3 of 11").
ALTER TABLE retro_runs ADD COLUMN pass integer NOT NULL DEFAULT 0 CHECK (pass >= 0);
ALTER TABLE retro_runs ADD COLUMN passes integer CHECK (passes IS NULL OR passes >= 1);
