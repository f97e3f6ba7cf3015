// The hashes (and per-step hashing times) of every corpus image, computed once by worker threads
// and cached as JSON lines keyed by path, file size and mtime under a version: iterating on the
// decision rule never re-hashes. Bump FEATURES_VERSION when hashing changes.

import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DEFAULT_DECODE_LIMITS, restrictSharpLoaders } from '@vigil/hashing';

export const FEATURES_VERSION = 'v13'; // v2: exact dihedral hashes (fast mode); v3-v4: turned pictures as content regions; v5: a second content-region guess; v6: downscale compensation; v7: turned pictures from the canvas size, crop compensation as if larger; v8: overlay compensation; v9-v12: faint watermarks unblended (v10: a view of their own; v11: the caption search's stroke radius; v12: its own again; v13: levels rounded)
const BATCH = 64;

/** Map path -> record; hashes whatever the cache lacks (or has stale), appending to it. */
export async function loadFeatures(paths, cacheFile, { threads = availableParallelism(), log = () => {} } = {}) {
  const features = new Map();
  if (existsSync(cacheFile)) {
    for (const line of readFileSync(cacheFile, 'utf8').split('\n')) {
      if (!line) continue;
      const record = JSON.parse(line);
      if (record.version === FEATURES_VERSION) features.set(record.path, record);
    }
  }
  const stamp = (path) => {
    const { size, mtimeMs } = statSync(path);
    return `${size}:${Math.round(mtimeMs)}`;
  };
  const missing = paths.filter((path) => features.get(path)?.stamp !== stamp(path));
  if (missing.length === 0) return features;

  log(`hashing ${missing.length} images on ${threads} threads (cache: ${cacheFile})`);
  // Process-wide: once here, before the workers decode (they only unblock their formats).
  restrictSharpLoaders(DEFAULT_DECODE_LIMITS.formats);
  const started = Date.now();
  let next = 0;
  let done = 0;
  const run = (worker) =>
    new Promise((resolve, reject) => {
      const send = () => {
        if (next >= missing.length) return resolve(worker.terminate());
        const batch = missing.slice(next, (next += BATCH));
        worker.postMessage(batch);
      };
      worker.on('message', (records) => {
        const lines = records.map((record) => ({ version: FEATURES_VERSION, stamp: stamp(record.path), ...record }));
        appendFileSync(cacheFile, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
        for (const line of lines) features.set(line.path, line);
        done += records.length;
        if (done % 2048 < BATCH) log(`  ${done}/${missing.length} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
        send();
      });
      worker.on('error', reject);
      send();
    });
  await Promise.all(Array.from({ length: threads }, () => run(new Worker(new URL('./hash-worker.mjs', import.meta.url)))));
  log(`hashed ${missing.length} images in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return features;
}
