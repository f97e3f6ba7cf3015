#!/usr/bin/env node
// npm run eval -- --corpus DIR [--out FILE] [--cache DIR]
// Detection quality on the benign evaluation corpus (../shared/corpus): Vigil's hashing and its
// matching decision exactly as the scanner makes it. Lists are built from the known originals
// (a PDQ list with dihedral matching and a blockhash list, one entry per original, external id =
// original id); every variant and distractor goes through toScanQuery -> ListMatcher.match ->
// decide with the scanner's detection rule, giving one verdict per image. The corpus evaluator
// scores those verdicts (encoded as hashes: a flagged image "hashes" to the code of the entry
// that decided it, anything else to a code of its own, so distance 0 = "decided for this
// original"), and also scores the plain PDQ and blockhash hashes for comparison. Writes a
// Markdown report (per-transform recall, distractors flagged, operating point, hashing cost).

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UPSCALE_MAX_SIDE } from '@vigil/hashing';
import { hammingDistance256, ListMatcher } from '@vigil/matching';
import { compensationCap, decide, fromImageHashes, loadDetectionRule, ruleChanges, toScanQuery } from '@vigil/scanner';
import { loadFeatures } from './features.mjs';
import { unevaluable } from './views.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..');
const { values } = parseArgs({
  options: {
    corpus: { type: 'string' },
    out: { type: 'string', default: join(repo, 'docs', 'detection-quality.md') },
    cache: { type: 'string' },
    evaluator: { type: 'string', default: resolve(repo, '../shared/corpus/evaluate.py') },
    python: { type: 'string', default: '/usr/bin/python3' },
    'pdq-threshold': { type: 'string', default: '31' },
    'blockhash-threshold': { type: 'string', default: '2' },
    // A candidate rule (the JSON VIGIL_DETECTION_RULE takes): measure it here before running it.
    rule: { type: 'string' },
  },
});
if (!values.corpus) {
  console.error('usage: npm run eval -- --corpus DIR [--out FILE] [--cache DIR] [--rule FILE]   (build DIR with ../shared/corpus/README.md)');
  process.exit(2);
}
const log = (line) => console.error(line);
const corpus = resolve(values.corpus);
const cacheDir = resolve(values.cache ?? `${corpus}.vigil-cache`);
mkdirSync(cacheDir, { recursive: true });
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8'));
const pathOf = (record) => join(corpus, record.file);
const files = [...manifest.known, ...manifest.variants, ...manifest.distractors].map(pathOf);
const features = await loadFeatures(files, join(cacheDir, 'features.jsonl'), { log });

// The lists, as `vigil lists import` would hold them: per-list thresholds (the manifest's), PDQ dihedral on.
const LISTS = [
  { id: 'known-pdq', version: 1, algorithm: 'pdq', threshold: Number(values['pdq-threshold']), action: 'quarantine', dihedral: true },
  { id: 'known-blockhash', version: 1, algorithm: 'blockhash', threshold: Number(values['blockhash-threshold']), action: 'quarantine', dihedral: false },
];
const detection = loadDetectionRule(values.rule, (path) => readFileSync(path, 'utf8'));
const rule = detection.rule;
const notCached = unevaluable(rule);
if (notCached) {
  console.error(`--rule ${values.rule}: cannot be evaluated: ${notCached}`);
  process.exit(2);
}
const matchers = LISTS.map((descriptor) => {
  const matcher = new ListMatcher(descriptor, manifest.known.length);
  matcher.add(manifest.known.flatMap((record) => {
    const hashes = features.get(pathOf(record))?.hashes;
    const hash = hashes?.[descriptor.algorithm];
    return hash ? [{ hash, externalId: record.id }] : [];
  }));
  matcher.compact();
  return matcher;
});

// One verdict per image, through the scanner's own query, matching and decision.
const code = (text) => createHash('sha256').update(text).digest('hex');
const verdicts = new Map();
const byList = Object.fromEntries(LISTS.map((l) => [l.id, { variants: 0, distractors: 0 }]));
const bySource = {};
/** Distractors the rule flags, with what flagged them: for a person to look at (a corpus duplicate, or a false positive). */
const flagged = [];
// Retro-matching a whole list's first import (a delta past wideMaxDelta) searches the stored hashes
// within each list's threshold only; every counting hit's entry must be among those found there.
const retro = { scanned: 0, narrow: 0, byTransform: {} };
const matchStarted = performance.now();
for (const record of [...manifest.variants, ...manifest.distractors]) {
  const path = pathOf(record);
  const feature = features.get(path);
  if (!feature?.ok) continue; // a hash failure: the evaluator counts a missed variant, no false positive
  const hashes = fromImageHashes({ mode: 'fast', sha256: code(path), ...feature.hashes });
  const query = toScanQuery(hashes, rule);
  const matches = matchers.flatMap((matcher) => matcher.match(query));
  const decision = decide({ matches, rule, pdqQuality: hashes.pdqQuality, unscannablePolicy: 'block' });
  if (decision.verdict !== 'matched') {
    verdicts.set(path, code(`clean:${path}`));
    continue;
  }
  const kind = record.original ? 'variants' : 'distractors';
  if (record.original && decision.decisive.entryId === record.original) {
    const withinThreshold = (hit) => matches.some((m) => m.listId === hit.listId && m.entryId === hit.entryId && m.distance <= m.threshold);
    const found = decision.hits.some(withinThreshold);
    const t = (retro.byTransform[record.transform] ??= { scanned: 0, narrow: 0 });
    retro.scanned++;
    t.scanned++;
    if (found) {
      retro.narrow++;
      t.narrow++;
    }
  }
  for (const listId of new Set(decision.hits.map((hit) => hit.listId))) byList[listId][kind]++;
  const { decisive } = decision;
  const queryName = decisive.query === 'region' ? `region (${feature.hashes.contentRegion.kind})` : decisive.query;
  const source = decisive.corroborated ? `corroborated${decisive.query ? ` ${queryName}` : ''}` : (queryName ?? `${decisive.algorithm}${decisive.variant === 'orig' ? '' : ' (dihedral)'}`);
  (bySource[source] ??= { variants: 0, distractors: 0 })[kind]++;
  if (kind === 'distractors') flagged.push({ record, decisive, source });
  verdicts.set(path, code(`entry:${decision.decisive.entryId}`));
}
const matchMs = (performance.now() - matchStarted) / (manifest.variants.length + manifest.distractors.length);
for (const record of manifest.known) verdicts.set(pathOf(record), code(`entry:${record.id}`));

const score = (name, lines, tmax) => {
  const tsv = join(cacheDir, `${name}.tsv`);
  const json = join(cacheDir, `${name}.json`);
  writeFileSync(tsv, lines.join(''));
  execFileSync(values.python, [values.evaluator, '--corpus', corpus, '--hashes', tsv, '--name', name, '--tmax', String(tmax), '--out-json', json], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return JSON.parse(readFileSync(json, 'utf8'));
};
const fused = score('vigil-decision', [...verdicts].map(([path, hex]) => `${path}\t${hex}\n`), 0);
const plain = {};
for (const algorithm of ['pdq', 'blockhash']) {
  const lines = files.flatMap((path) => (features.get(path)?.hashes?.[algorithm] ? [`${path}\t${features.get(path).hashes[algorithm]}\n`] : []));
  plain[algorithm] = score(`plain-${algorithm}`, lines, 48);
}


/**
 * How close the distractors come to the list entries, per query: the margins behind the rule's
 * numbers (the closest unrelated image must stay outside what the rule admits, with room to spare).
 */
function distractorMargins() {
  const bytes = (hex) => Buffer.from(hex, 'hex');
  const distance = (a, b) => hammingDistance256(a, 0, b, 0);
  const nearest = (query, entries) => entries.reduce((best, entry) => Math.min(best, distance(query, entry)), Infinity);
  const known = manifest.known.map((record) => features.get(pathOf(record)).hashes);
  const knownPdq = known.map((h) => bytes(h.pdq));
  const knownBh = known.map((h) => bytes(h.blockhash));
  const [pdqList, bhList] = LISTS;
  const { blockhashWeight } = rule.corroboration;
  // A PDQ at distance p from entry k, paired with the content's blockhash: the rule's weighted excess.
  const pairExcess = (p, bh, k) => Math.max(0, p - pdqList.threshold) + blockhashWeight * Math.max(0, distance(bh, knownBh[k]) - bhList.threshold);
  const min = { pdq: Infinity, weighted: Infinity, region: Infinity, uncrop: Infinity, upscale: Infinity, overlay: Infinity, watermark: Infinity, watermarkCount: 0, unstable: Infinity, unstableCount: 0, regionBlockhash: Infinity, blockhash: Infinity };
  // A view's PDQ: its own margin above the quality floor; below it, near-exact like any unstable PDQ (one margin for all).
  const view = (key, hex, quality) => {
    const near = nearest(bytes(hex), knownPdq);
    if (quality >= 50) {
      min[key] = Math.min(min[key], near);
    } else {
      min.unstable = Math.min(min.unstable, near);
      min.unstableCount++;
    }
  };
  for (const record of manifest.distractors) {
    const f = features.get(pathOf(record));
    if (!f?.ok) continue;
    const h = f.hashes;
    const pdqs = Object.values(h.pdqDihedral).map((hex) => bytes(hex));
    const bh = bytes(h.blockhash);
    for (let k = 0; k < known.length; k++) {
      const p = pdqs.reduce((best, q) => Math.min(best, distance(q, knownPdq[k])), Infinity);
      if (h.pdqQuality >= 50) min.pdq = Math.min(min.pdq, p);
      else min.unstable = Math.min(min.unstable, p);
      min.weighted = Math.min(min.weighted, pairExcess(p, bh, k));
    }
    min.blockhash = Math.min(min.blockhash, nearest(bh, knownBh));
    if (h.pdqQuality < 50) min.unstableCount++;
    for (const region of [h.contentRegion, h.alternateRegion]) {
      if (region?.pdq) view('region', region.pdq, region.pdqQuality);
      if (region?.blockhash) min.regionBlockhash = Math.min(min.regionBlockhash, nearest(bytes(region.blockhash), knownBh));
    }
    for (const u of h.uncropped) {
      if (!rule.uncrop.includes(u.kept) || (u.upscale !== undefined && !rule.upscale.includes(u.upscale))) continue;
      view('uncrop', u.pdq, u.pdqQuality);
    }
    for (const u of h.upscaled ?? []) {
      if (!rule.upscale.includes(u.factor)) continue;
      if (u.pdqQuality < 50) {
        view('upscale', u.pdq, u.pdqQuality);
        continue;
      }
      const q = bytes(u.pdq);
      for (let k = 0; k < known.length; k++) {
        const p = distance(q, knownPdq[k]);
        min.upscale = Math.min(min.upscale, p);
        // An upscaled PDQ pairs with the canonical blockhash.
        min.weighted = Math.min(min.weighted, pairExcess(p, bh, k));
      }
    }
    if (h.overlayFree?.some((u) => u.unblended)) min.watermarkCount++;
    for (const u of h.overlayFree ?? []) {
      if (u.factor !== 1 && !rule.upscale.includes(u.factor)) continue;
      view(u.unblended ? 'watermark' : 'overlay', u.pdq, u.pdqQuality);
    }
  }
  return min;
}

function renderReport() {
  const n = manifest.distractors.length;
  const fp = fused.fp_count[0];
  const zero = (r) => r.operating_points.find((op) => op.label === '0 distractors flagged');
  const pdqZero = zero(plain.pdq);
  const bhZero = zero(plain.blockhash);
  const transforms = manifest.transforms.map((t) => t.name);
  const ms = timings();
  const margins = distractorMargins();
  const fmt = (x) => (x === undefined || x === null ? '-' : x.toFixed(3));
  const lines = [
    '# Detection quality',
    '',
    '<!-- Generated by `npm run eval -- --corpus DIR` (eval/run-eval.mjs); do not edit by hand. -->',
    '',
    `Corpus \`${manifest.params?.out ?? corpus}\`: ${manifest.known.length} known originals, ${manifest.variants.length} variants (${transforms.length} transforms), ${n} distractors.`,
    'Scored by `../shared/corpus/evaluate.py`. "In-scope" = every transform but flip_h, rot_90, rot_180.',
    '',
    '## Operating point',
    '',
    `- Lists: \`known-pdq\` (PDQ, threshold ${LISTS[0].threshold}, dihedral on) and \`known-blockhash\` (blockhash, threshold ${LISTS[1].threshold}), one entry per original, external id = original id.`,
    `- Rule (${ruleName()}): content region ${rule.region ? 'on' : 'off'} (PDQ alone within ${rule.extraMax.region.pdq}, blockhash alone within ${rule.extraMax.region.blockhash}); crop compensation for kept shares ${JSON.stringify(rule.uncrop)} (PDQ within the list threshold + ${rule.extraMax.uncrop.beyond}, ${rule.extraMax.uncrop.max} at most); downscale compensation for images up to ${UPSCALE_MAX_SIDE} px a side once upscaled, factors ${JSON.stringify(rule.upscale)} (PDQ alone within ${rule.extraMax.upscale}, beyond that paired with the canonical blockhash); overlay compensation ${rule.overlay ? 'on' : 'off'} (PDQ with overlaid caption text left out, at the image's size and the downscale factors, within the list threshold + ${rule.extraMax.overlay.beyond}, ${rule.extraMax.overlay.max} at most; apart from it, PDQ with a faint watermark unblended, within the list threshold + ${rule.extraMax.watermark.beyond}, ${rule.extraMax.watermark.max} at most); corroborated near misses (same entry and query, both algorithms) when their excesses over the lists' thresholds lie within +${rule.corroboration.box.pdq} PDQ and +${rule.corroboration.box.blockhash} blockhash bits, or PDQ excess + ${rule.corroboration.blockhashWeight} x blockhash excess <= ${rule.corroboration.weightedMax} (PDQ excess up to ${rule.corroboration.pdq}); PDQ below quality 50 (canonical or a view's) alone only within ${rule.lowQualityPdqMax}, beyond that only corroborated where its view pairs.`,
    `- **Distractors flagged: ${fp}/${n}**. In-scope mean recall **${fmt(fused.recall_macro_in_scope[0])}** (all transforms: ${fmt(fused.recall_macro[0])}).`,
    `- For comparison, plain hashes scored alone: PDQ at its largest zero-FP threshold t=${pdqZero.threshold}: in-scope ${fmt(pdqZero.recall_macro_in_scope)}; PDQ t=31: ${fmt(plain.pdq.recall_macro_in_scope[31])} with ${plain.pdq.fp_count[31]} flagged; blockhash zero-FP t=${bhZero.threshold}: ${fmt(bhZero.recall_macro_in_scope)}.`,
    '',
    '### Margins: how close the distractors come',
    '',
    `Nearest distractor to any list entry, per query (dev corpus): canonical PDQ (quality >= 50, any dihedral variant) ${margins.pdq} bits (the list threshold is ${LISTS[0].threshold}); content region PDQ ${margins.region} bits (counts alone within ${rule.extraMax.region.pdq}), its blockhash ${margins.regionBlockhash} bits (counts alone within ${Math.min(LISTS[1].threshold, rule.extraMax.region.blockhash)}; the canonical blockhash's nearest distractor: ${margins.blockhash} bits, list threshold ${LISTS[1].threshold}); crop-compensated PDQ ${margins.uncrop} bits (counts within ${compensationCap(LISTS[0].threshold, rule.extraMax.uncrop)}); downscale-compensated PDQ ${margins.upscale} bits (counts alone within ${Math.min(LISTS[0].threshold, rule.extraMax.upscale)}); text-free PDQ ${margins.overlay} bits (counts within ${compensationCap(LISTS[0].threshold, rule.extraMax.overlay)}); unblended PDQ (a faint watermark undone; ${margins.watermarkCount} distractors have one) ${margins.watermark} bits (counts within ${compensationCap(LISTS[0].threshold, rule.extraMax.watermark)}); unstable PDQ (quality below 50, canonical or any view; ${margins.unstableCount} such hashes among the distractors) ${margins.unstable} bits (counts alone within ${rule.lowQualityPdqMax}); the closest PDQ + blockhash pair has PDQ excess + ${rule.corroboration.blockhashWeight} x blockhash excess = ${margins.weighted} (pairs count within ${rule.corroboration.weightedMax}, or inside the +${rule.corroboration.box.pdq}/+${rule.corroboration.box.blockhash} box).`,
    '',
    '## Targets (issue 9) at this operating point',
    '',
    '| target | transforms | required | measured (lowest) | met |',
    '|---|---|---:|---:|---|',
    ...TARGETS.map(({ name, transforms: group, min }) => {
      const measured = group === 'in-scope' ? fused.recall_macro_in_scope[0] : Math.min(...group.map((t) => fused.recall[t][0]));
      return `| ${name} | ${group === 'in-scope' ? 'in-scope mean' : group.join(', ')} | ${min.toFixed(2)} | ${fmt(measured)} | ${measured >= min ? 'yes' : '**no**'} |`;
    }),
    `| no distractor flagged | - | 0 | ${fp} | ${fp === 0 ? 'yes' : '**no**'} |`,
    '',
    ...flaggedSection(),
    '## Recall per transform',
    '',
    '| transform | Vigil decision | PDQ alone t=31 | PDQ alone zero-FP t | blockhash alone zero-FP t |',
    '|---|---:|---:|---:|---:|',
    ...transforms.map((t) => `| ${t} | ${fmt(fused.recall[t][0])} | ${fmt(plain.pdq.recall[t][31])} | ${fmt(plain.pdq.recall[t][pdqZero.threshold])} | ${fmt(plain.blockhash.recall[t][bhZero.threshold])} |`),
    '',
    '## What decided',
    '',
    'Images flagged, by the hit that decided them (variants flagged for any original; distractors are false positives):',
    '',
    '| decisive hit | variants | distractors |',
    '|---|---:|---:|',
    ...Object.entries(bySource).sort((a, b) => b[1].variants - a[1].variants).map(([source, c]) => `| ${source} | ${c.variants} | ${c.distractors} |`),
    '',
    'What each list would flag (images with at least one counted hit on it):',
    '',
    '| list | threshold | variants | distractors |',
    '|---|---:|---:|---:|',
    ...LISTS.map((l) => `| ${l.id} | ${l.threshold} | ${byList[l.id].variants} | ${byList[l.id].distractors} |`),
    '',
    '### Retro-matching: the same decision when a list version arrives later',
    '',
    `A list version's new entries are matched against the stored hashes of content scanned before, by the scanner's own query and decision (services/hashlists/src/retro/retro-decider.ts). A delta of up to 10 000 entries (\`wideMaxDelta\`) is joined at every distance the rule admits in one pass, so it finds all ${retro.scanned} of the variants matched to their original above. A larger delta (a whole list's first import) is joined within each list's threshold first, one pass, which finds ${retro.narrow} of them (${fmt(retro.narrow / retro.scanned)}); passes of 10 000 entries past the threshold then find the rest, which count only through crop, text-free or unblended views past the threshold or corroborated near misses. Most of those: ${Object.entries(retro.byTransform).map(([name, t]) => [name, t.scanned - t.narrow]).filter(([, lost]) => lost > 0).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, lost]) => `${name} ${lost}`).join(', ')}.`,
    '',
    '## Hashing cost',
    '',
    `Mean per image over the ${ms.count} images, each step timed on the same image in the same run (worker threads, fast mode):`,
    '',
    '| step | ms / image | vs plain hash |',
    '|---|---:|---:|',
    ...['decode', 'plain', 'detect', 'region', 'uncrop', 'upscale', 'overlay'].map((step) => `| ${STEP_NAMES[step]} | ${ms[step].toFixed(2)} | ${step === 'plain' ? '-' : `${((100 * ms[step]) / ms.plain).toFixed(0)}%`} |`),
    `| matching + decision (${LISTS.length} lists of ${manifest.known.length}) | ${matchMs.toFixed(3)} | - |`,
    '',
    `Framed (a content region found): ${Object.values(ms.framed).reduce((a, b) => a + b, 0)} images (${Object.entries(ms.framed).map(([kind, n]) => `${kind} ${n}`).join(', ')}); ${ms.alternates} of them with a second guess at the region, hashed too; region hashing is paid only on framed images. Crop compensation is computed for shares ${ms.uncropKept}; the rule uses ${JSON.stringify(rule.uncrop)}. Downscale compensation is computed on the ${ms.upscaledImages} images small enough for at least factor 2 (factors [2,3,4], each only while the upscaled side stays within ${UPSCALE_MAX_SIDE} px); the rule uses ${JSON.stringify(rule.upscale)}; its cost above is averaged over all images. Overlay compensation looks for caption text and faint watermarks on every image: it found caption text on ${ms.captionImages} and a faint watermark on ${ms.unblendedImages} (text-free and unblended PDQ at the image's size, and as if 2 and 4 x larger where downscale compensation applies).`,
    '',
  ];
  return lines.join('\n');
}

const TARGETS = [
  { name: 'in-scope mean recall', transforms: 'in-scope', min: 0.85 },
  { name: 'recompression, colour, blur, noise, format, grayscale', min: 0.99, transforms: ['jpeg_q30', 'jpeg_q50', 'jpeg_q70', 'bright_p20', 'bright_m20', 'contrast_p20', 'contrast_m20', 'gamma_0_6', 'gamma_1_6', 'hue_20', 'saturation_150', 'blur', 'noise_8', 'format_webp', 'format_swap', 'grayscale'] },
  { name: 'resize', min: 0.97, transforms: ['resize_50', 'resize_25', 'combo_resize50_jpeg50'] },
  { name: 'flips and 90/180 rotations (dihedral)', min: 0.98, transforms: ['flip_h', 'rot_90', 'rot_180'] },
  { name: 'border and screenshot (framing removal)', min: 0.9, transforms: ['border_10', 'screenshot'] },
  { name: 'watermarks, sticker, crop 5%', min: 0.8, transforms: ['watermark_corner', 'watermark_diagonal', 'sticker', 'crop_5'] },
];

const STEP_NAMES = {
  decode: 'decode (sharp)',
  plain: 'plain hash: PDQ + 8 dihedral + blockhash',
  detect: 'framing detection (borders, chrome, turned pictures)',
  region: 'content-region PDQ + blockhash (a turned picture resampled upright first)',
  uncrop: 'crop compensation (PDQ per kept share; small images also as if 2 and 4 x larger)',
  upscale: 'downscale compensation (PDQ as if 2, 3, 4 x larger, small images)',
  overlay: 'overlay compensation (caption text left out of PDQ, a faint watermark unblended)',
};

function timings() {
  const sums = { decode: 0, plain: 0, detect: 0, region: 0, uncrop: 0, upscale: 0, overlay: 0 };
  let count = 0;
  const framed = {};
  let alternates = 0;
  let uncropKept = '';
  let upscaledImages = 0;
  let captionImages = 0;
  let unblendedImages = 0;
  for (const path of files) {
    const f = features.get(path);
    if (!f?.ok) continue;
    count++;
    if (f.hashes.contentRegion) framed[f.hashes.contentRegion.kind] = (framed[f.hashes.contentRegion.kind] ?? 0) + 1;
    if (f.hashes.alternateRegion) alternates++;
    uncropKept = JSON.stringify(f.hashes.uncropped.filter((u) => u.upscale === undefined).map((u) => u.kept));
    if (f.hashes.upscaled?.length) upscaledImages++;
    if (f.hashes.overlayFree?.some((u) => !u.unblended)) captionImages++;
    if (f.hashes.overlayFree?.some((u) => u.unblended)) unblendedImages++;
    for (const step of Object.keys(sums)) sums[step] += f.ms[step];
  }
  return { count, framed, alternates, uncropKept, upscaledImages, captionImages, unblendedImages, ...Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / count])) };
}

writeFileSync(resolve(values.out), renderReport());
log(`report: ${relative(process.cwd(), resolve(values.out))}`);

/** Which rule the report measured: the default, or a candidate with what it changes. */
function ruleName() {
  if (detection.source === 'default') return `\`DEFAULT_DETECTION_RULE\`, services/scanner/src/decide.ts, ${detection.fingerprint}`;
  const changes = Object.entries(ruleChanges(rule)).map(([path, value]) => `${path} = ${JSON.stringify(value)}`);
  return `${detection.fingerprint} from ${detection.source}, the default with ${changes.length > 0 ? changes.join(', ') : 'no change'}`;
}

/** Each flagged distractor beside the known image it matched, for a person to judge: a copy the corpus missed, or a false positive. */
function flaggedSection() {
  if (flagged.length === 0) return [];
  const known = new Map(manifest.known.map((k) => [k.id, k]));
  const where = (r) => (r?.source ? `${r.source.package}: ${r.source.path}` : '?');
  return [
    '### Flagged distractors',
    '',
    '| distractor | its source | matched | the known image\'s source | by | distance |',
    '|---|---|---|---|---|---:|',
    ...flagged.map(({ record, decisive, source }) =>
      `| ${record.id} | ${where(record)} | ${decisive.entryId} | ${where(known.get(decisive.entryId))} | ${source} | ${decisive.distance} |`),
    '',
  ];
}

