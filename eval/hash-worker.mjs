// Worker thread of the corpus evaluation: hashes images exactly as the scanner's hashing pool
// does (fast mode, @vigil/hashing), and times each step on the same image in the same run:
// decode, the plain hashes (PDQ with its dihedral variants, blockhash), framing detection, the
// content-region hashes, crop compensation (re-expanded PDQ), downscale compensation (PDQ of a
// small image as if larger) and overlay compensation (PDQ with overlaid caption text left out, a
// faint watermark unblended).
// Receives batches of paths, answers with one record per path.

import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { createImageHasher, createSharpDecoder, findContentRegions, hashRegion, lumaFromPixels, overlayFreePdq, uncroppedPdq, upscaledPdq } from '@vigil/hashing';

import { UNCROP_KEPT, UPSCALE_FACTORS, VIEW_UPSCALE } from './views.mjs';

sharp.concurrency(1);
const decode = createSharpDecoder();
let decoded = null;
let decodeMs = 0;
// The scanner's own hasher, with the decode timed apart from the hashing that follows it.
const hasher = createImageHasher(async (bytes, request) => {
  const started = performance.now();
  const outcome = await decode(bytes, request);
  decodeMs = performance.now() - started;
  decoded = outcome.ok ? outcome.image : null;
  return outcome;
});

parentPort.on('message', async (paths) => {
  const records = [];
  for (const path of paths) records.push(await hashOne(path));
  parentPort.postMessage(records);
});

async function hashOne(path) {
  const bytes = readFileSync(path);
  const started = performance.now();
  const outcome = await hasher(bytes, { mode: 'fast', algorithms: ['pdq', 'blockhash'] });
  const plainMs = performance.now() - started - decodeMs;
  if (outcome.status !== 'hashed' || !decoded) return { path, ok: false, reason: outcome.reason ?? 'no pixels' };
  const h = outcome.hashes;
  const frame = decoded.frames[0];
  const t0 = performance.now();
  const regions = findContentRegions(frame);
  const t1 = performance.now();
  const [region, alternate] = regions.map((r) => hashRegion(frame, r, decoded.width, decoded.height, 'fast'));
  const t2 = performance.now();
  const luma = lumaFromPixels(frame.data, frame.width, frame.height, 4);
  const uncrop = uncroppedPdq(luma, decoded.width, decoded.height, UNCROP_KEPT, VIEW_UPSCALE);
  const t3 = performance.now();
  const upscaled = upscaledPdq(luma, decoded.width, decoded.height, UPSCALE_FACTORS);
  const t4 = performance.now();
  const overlayFree = overlayFreePdq(luma, decoded.width, decoded.height, VIEW_UPSCALE);
  const t5 = performance.now();
  return {
    path,
    ok: true,
    hashes: {
      pdq: h.pdq,
      pdqQuality: h.pdqQuality,
      pdqDihedral: h.pdqDihedral,
      blockhash: h.blockhash,
      ...(region && { contentRegion: region }),
      ...(alternate && { alternateRegion: alternate }),
      uncropped: uncrop,
      upscaled,
      ...(overlayFree.length > 0 && { overlayFree }),
    },
    ms: { decode: decodeMs, plain: plainMs, detect: t1 - t0, region: t2 - t1, uncrop: t3 - t2, upscale: t4 - t3, overlay: t5 - t4 },
  };
}

