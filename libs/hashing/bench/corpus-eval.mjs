#!/usr/bin/env node
// npm run bench:corpus -- --corpus DIR [--out DIR]
// Fast mode against reference mode on the benign evaluation corpus (../shared/corpus): hashes
// every image in both modes through the worker pool, scores each with the corpus's own
// evaluate.py, and writes a comparison (recall per transform, distractors flagged) as Markdown.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHashPool } from '../dist/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: {
    corpus: { type: 'string' },
    out: { type: 'string', default: join(here, 'results') },
    evaluator: { type: 'string', default: resolve(here, '../../../../shared/corpus/evaluate.py') },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
if (!values.corpus) {
  console.error('usage: npm run bench:corpus -- --corpus DIR [--out DIR]   (build DIR with ../shared/corpus/README.md)');
  process.exit(2);
}
const corpus = resolve(values.corpus);
const out = resolve(values.out);
mkdirSync(out, { recursive: true });
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8'));
const files = [...manifest.known, ...manifest.variants, ...manifest.distractors].map((record) => join(corpus, record.file));

const ALGORITHMS = ['pdq', 'blockhash'];
// Meta's PDQ match threshold, and blockhash's operating point at image FPR <= 1e-3 (corpus README).
const THRESHOLDS = { pdq: 31, blockhash: 8 };
const results = {};

for (const mode of ['fast', 'reference']) {
  const started = Date.now();
  const hashes = await hashAll(mode);
  const seconds = (Date.now() - started) / 1000;
  console.error(`${mode}: ${files.length} images in ${seconds.toFixed(0)} s`);
  for (const algorithm of ALGORITHMS) {
    const cache = join(out, `corpus-${mode}-${algorithm}.local.tsv`);
    writeFileSync(cache, files.filter((file) => hashes.get(file)?.[algorithm]).map((file) => `${file}\t${hashes.get(file)[algorithm]}\n`).join(''));
    const json = join(out, `corpus-${mode}-${algorithm}.local.json`);
    execFileSync(values.python, [values.evaluator, '--corpus', corpus, '--hashes', cache, '--name', `vigil ${algorithm} ${mode}`, '--out-json', json], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    results[`${mode}/${algorithm}`] = { ...JSON.parse(readFileSync(json, 'utf8')), seconds };
  }
}

const report = renderReport();
writeFileSync(join(out, 'corpus-fast-vs-reference.md'), report);
process.stdout.write(report);

async function hashAll(mode) {
  const pool = createHashPool();
  const hashes = new Map();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      const outcome = await pool.hash(readFileSync(file), { mode, algorithms: ALGORITHMS });
      if (outcome.status === 'hashed') hashes.set(file, outcome.hashes);
    }
  };
  await Promise.all(Array.from({ length: pool.threads * 4 }, worker));
  await pool.close();
  return hashes;
}

function renderReport() {
  const lines = [
    '# Fast mode vs reference mode on the dev corpus',
    '',
    `Corpus \`${corpus}\`: ${manifest.known.length} known, ${manifest.variants.length} variants, ${manifest.distractors.length} distractors.`,
    'Scored by `../shared/corpus/evaluate.py`; in-scope = every transform but flips and 90/180 rotations.',
    '',
    '| algorithm | t | mode | recall in-scope | recall all | distractors flagged | 0-flagged t | recall there | hashing time (s) |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const algorithm of ALGORITHMS) {
    for (const mode of ['fast', 'reference']) {
      const r = results[`${mode}/${algorithm}`];
      const t = THRESHOLDS[algorithm];
      const zero = r.operating_points.find((op) => op.label === '0 distractors flagged');
      lines.push(
        `| ${algorithm} | ${t} | ${mode} | ${r.recall_macro_in_scope[t].toFixed(3)} | ${r.recall_macro[t].toFixed(3)} | ${r.fp_count[t]}/${r.counts.distractors} | ${zero.threshold} | ${zero.recall_macro_in_scope?.toFixed(3) ?? '-'} | ${r.seconds.toFixed(0)} |`,
      );
    }
  }
  lines.push('', 'Recall per transform at the threshold above (fast / reference, and the difference):', '');
  lines.push('| transform | PDQ fast | PDQ ref | diff | blockhash fast | blockhash ref | diff |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const { name } of manifest.transforms) {
    const cell = (algorithm) => {
      const t = THRESHOLDS[algorithm];
      const fast = results[`fast/${algorithm}`].recall[name][t];
      const reference = results[`reference/${algorithm}`].recall[name][t];
      return `${fast.toFixed(3)} | ${reference.toFixed(3)} | ${(fast - reference >= 0 ? '+' : '') + (fast - reference).toFixed(3)}`;
    };
    lines.push(`| ${name} | ${cell('pdq')} | ${cell('blockhash')} |`);
  }
  return `${lines.join('\n')}\n`;
}
