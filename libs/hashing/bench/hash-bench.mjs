#!/usr/bin/env node
// npm run bench:hash — hashing speed and memory on generated benign images, against the decode
// floor measured in the same run (sharp decode to 64x64 grey with shrink-on-load).
// Each measurement runs in its own child process so CPU time and peak RSS are not mixed.
// Prints one JSON document; not a test: it asserts nothing, it reports.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const CLASSES = [
  { name: 'jpeg-1920x1080-q85', width: 1920, height: 1080, format: 'jpeg', options: { quality: 85 }, seed: 11 },
  { name: 'jpeg-4000x3000-q85', width: 4000, height: 3000, format: 'jpeg', options: { quality: 85 }, seed: 12 },
  { name: 'png-1024x768', width: 1024, height: 768, format: 'png', options: {}, seed: 13 },
  { name: 'webp-1920x1080-q80', width: 1920, height: 1080, format: 'webp', options: { quality: 80 }, seed: 14 },
];
// Distinct images per class, so no decoder cache or branch predictor sees one file only.
const IMAGES_PER_CLASS = 3;
const MIN_ITERATIONS = 12;
const MIN_SECONDS = 1.5;

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3]));
} else {
  await parent();
}

async function parent() {
  const { encode, naturalScene } = await import('@vigil/testkit');
  const dir = join(tmpdir(), 'vigil-bench-images');
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const classes = [];
  for (const spec of CLASSES) {
    const files = [];
    for (let i = 0; i < IMAGES_PER_CLASS; i++) {
      const file = join(dir, `${spec.name}-${i}.${spec.format}`);
      const image = await naturalScene(spec.width, spec.height, spec.seed * 100 + i);
      writeFileSync(file, await encode(image, spec.format, spec.options));
      files.push(file);
    }
    const bytes = files.map((file) => readFileSync(file).length);
    const run = (task) => JSON.parse(execFileSync(process.execPath, [SELF, '--child', JSON.stringify({ ...task, files })], { encoding: 'utf8' }));
    // Interleaved per image: floor and candidates share every frequency and cache state, so
    // their ratio is stable even when absolute times drift between runs.
    const fastRun = run({ task: 'interleaved', works: ['floor', 'fast', 'blockhash-core-256'] });
    const referenceRun = run({ task: 'interleaved', works: ['floor', 'reference'] });
    const fastAlone = run({ task: 'interleaved', works: ['fast'] });
    // Scaling: workers that each take one image at a time, 1 vs 2; then the production pool
    // (2 images in flight per thread, so one thread already overlaps JS with its libvips decode).
    const pool1 = run({ task: 'pool', threads: 1, tasksPerThread: 1 });
    const pool2 = run({ task: 'pool', threads: 2, tasksPerThread: 1 });
    const poolDefault = run({ task: 'pool', threads: 2 });
    const floor = fastRun.floor;
    const summarise = (m, f) => ({ ...m, ratioToFloor: round(m.cpuMsPerImage / f.cpuMsPerImage, 2), imagesPerSecondPerCore: round(1000 / m.cpuMsPerImage, 1) });
    classes.push({
      class: spec.name,
      meanBytes: Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length),
      decodeFloor: floor,
      fast: { ...summarise(fastRun.fast, floor), peakRssMiB: fastAlone.peakRssMiB },
      reference: { ...summarise(referenceRun.reference, referenceRun.floor), peakRssMiB: referenceRun.peakRssMiB },
      blockhashCore256Baseline: summarise(fastRun['blockhash-core-256'], floor),
      pool: {
        fastImagesPerSecond1Worker: pool1.imagesPerSecond,
        fastImagesPerSecond2Workers: pool2.imagesPerSecond,
        scaling2Workers: round(pool2.imagesPerSecond / pool1.imagesPerSecond, 2),
        cpuCoresBusy1Worker: pool1.coresBusy,
        cpuCoresBusy2Workers: pool2.coresBusy,
        defaultPoolImagesPerSecond: poolDefault.imagesPerSecond,
        defaultPoolCoresBusy: poolDefault.coresBusy,
        defaultPoolPeakRssMiB: poolDefault.peakRssMiB,
      },
    });
  }
  const report = {
    benchmark: 'hash',
    node: process.version,
    cpus: cpus().length,
    note: 'fast = PDQ (+8 dihedral) + blockhash + SHA-256 + SHA-1 + MD5 from one shrink-on-load decode, one worker; cpuMsPerImage counts every thread of the process; peakRssMiB is the whole process (Node + libvips + images)',
    seconds: Math.round((Date.now() - started) / 1000),
    classes,
  };
  const out = JSON.stringify(report, null, 2);
  mkdirSync(join(fileURLToPath(new URL('.', import.meta.url)), 'results'), { recursive: true });
  writeFileSync(fileURLToPath(new URL('./results/hash-bench.local.json', import.meta.url)), `${out}\n`);
  process.stdout.write(`${out}\n`);
}

async function child({ task, files, works, threads, tasksPerThread }) {
  const sharp = (await import('sharp')).default;
  const hashing = await import('../dist/index.js');
  sharp.cache(false);
  sharp.concurrency(1);
  const inputs = files.map((file) => readFileSync(file));
  if (task === 'pool') {
    const result = await measurePool(hashing, inputs, threads, tasksPerThread);
    process.stdout.write(JSON.stringify({ ...result, peakRssMiB: peakRssMiB() }));
    return;
  }
  const hasher = hashing.createImageHasher(hashing.createSharpDecoder());
  const { bmvbhash } = await import('blockhash-core');
  const available = {
    // The decode floor: sharp decode to 64x64 grey, shrink-on-load.
    floor: (bytes) => sharp(bytes).resize(64, 64, { fit: 'fill' }).greyscale().raw().toBuffer(),
    fast: (bytes) => hasher(bytes, { mode: 'fast' }),
    reference: (bytes) => hasher(bytes, { mode: 'reference' }),
    // Today's usual route to blockhash: blockhash-core fed a 256x256 downscale.
    'blockhash-core-256': async (bytes) => {
      const { data, info } = await sharp(bytes).resize(256, 256, { fit: 'fill' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      return bmvbhash({ width: info.width, height: info.height, data }, 16);
    },
  };
  const result = await measureInterleaved(Object.fromEntries(works.map((name) => [name, available[name]])), inputs);
  process.stdout.write(JSON.stringify({ ...result, peakRssMiB: peakRssMiB() }));
}

/** Peak resident set of this process: VmHWM resets at exec, unlike getrusage's maxrss. */
function peakRssMiB() {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? round(Number(match[1]) / 1024, 1) : null;
}

/** CPU time of the whole process (main + libvips threads) per image and work, round-robin. */
async function measureInterleaved(works, inputs) {
  const names = Object.keys(works);
  const cpu = Object.fromEntries(names.map((name) => [name, 0]));
  const wall = Object.fromEntries(names.map((name) => [name, 0]));
  const WARMUP = 3;
  const started = performance.now();
  let n = 0;
  for (let i = 0; n < MIN_ITERATIONS || performance.now() - started < MIN_SECONDS * 1000 * names.length; i++) {
    for (const name of names) {
      const cpuBefore = process.cpuUsage();
      const wallBefore = performance.now();
      const outcome = await works[name](inputs[i % inputs.length]);
      if (outcome && outcome.status === 'unscannable') throw new Error(`benchmark image unscannable: ${outcome.message}`);
      if (i >= WARMUP) {
        const used = process.cpuUsage(cpuBefore);
        cpu[name] += (used.user + used.system) / 1000;
        wall[name] += performance.now() - wallBefore;
      }
    }
    if (i >= WARMUP) n++;
  }
  return Object.fromEntries(
    names.map((name) => [name, { iterations: n, cpuMsPerImage: round(cpu[name] / n, 2), wallMsPerImage: round(wall[name] / n, 2) }]),
  );
}

/** Throughput of the worker pool in fast mode: a sliding window keeps every thread fed. */
async function measurePool(hashing, inputs, threads, tasksPerThread) {
  const pool = hashing.createHashPool({ threads, ...(tasksPerThread && { tasksPerThread }) });
  const inFlight = threads * (tasksPerThread ?? 2) + 2;
  await Promise.all(Array.from({ length: inFlight }, (_, i) => pool.hash(inputs[i % inputs.length])));
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let issued = 0;
  let done = 0;
  await new Promise((resolve, reject) => {
    const next = () => {
      if (performance.now() - started >= MIN_SECONDS * 2000 && done >= 24) {
        if (done === issued) resolve();
        return;
      }
      const input = inputs[issued++ % inputs.length];
      pool.hash(input).then(() => {
        done++;
        next();
      }, reject);
    };
    for (let i = 0; i < inFlight; i++) next();
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await pool.close();
  return {
    threads,
    images: done,
    imagesPerSecond: round(done / seconds, 1),
    coresBusy: round((cpu.user + cpu.system) / 1e6 / seconds, 2),
  };
}

function round(value, digits) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
