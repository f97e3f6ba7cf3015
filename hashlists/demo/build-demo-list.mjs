#!/usr/bin/env node
// Builds the benign demo list: PDQ hashes of generated landscape scenes (libs/testkit
// naturalScene, seeds 1..COUNT, 640x480 JPEG q90). Nothing here is, or resembles, real list
// content. Writes demo-pdq.csv (hash,id,category) and, with --images DIR, the images themselves,
// so a demo can hash them and see them match.
//   node hashlists/demo/build-demo-list.mjs [--images DIR]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createImageHasher, createSharpDecoder } from '@vigil/hashing';
import { encode, naturalScene } from '@vigil/testkit';

export const COUNT = 24;

export async function demoImage(seed) {
  return encode(await naturalScene(640, 480, seed), 'jpeg', { quality: 90 });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { images: { type: 'string' } } });
  const hash = createImageHasher(createSharpDecoder());
  const lines = ['# Vigil demo list: PDQ hashes of GENERATED BENIGN landscape scenes (libs/testkit naturalScene).', 'hash,id,category'];
  if (values.images) mkdirSync(values.images, { recursive: true });
  for (let seed = 1; seed <= COUNT; seed++) {
    const jpeg = await demoImage(seed);
    const outcome = await hash(jpeg, { algorithms: ['pdq'] });
    if (outcome.status !== 'hashed') throw new Error(`demo image ${seed}: ${outcome.message}`);
    lines.push(`${outcome.hashes.pdq},demo-${String(seed).padStart(3, '0')},benign-demo`);
    if (values.images) writeFileSync(join(values.images, `demo-${String(seed).padStart(3, '0')}.jpg`), jpeg);
  }
  writeFileSync(fileURLToPath(new URL('./demo-pdq.csv', import.meta.url)), `${lines.join('\n')}\n`);
  console.log(`wrote ${COUNT} entries to hashlists/demo/demo-pdq.csv${values.images ? ` and the images to ${values.images}` : ''}`);
}
