// Distinct bytes with the same pixels, for `npm run bench:check`: a JPEG comment segment (COM,
// FF FE) carrying a tag goes right after SOI. Decoders skip comments, so the perceptual hashes
// stay those of the image while the SHA-256 changes, and the gateway cannot answer from the hashes
// it stored for earlier bytes. JPEG only; the image itself is never copied by `uniqueChunks`.

/** The changed file as chunks to write in order: SOI, the comment, the rest of the image. */
export function uniqueChunks(jpeg, tag) {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG (no SOI)');
  const text = Buffer.from(`vigil-bench ${tag}`, 'latin1');
  if (text.length > 65_533) throw new Error('tag too long for one comment segment');
  const comment = Buffer.alloc(4 + text.length);
  comment[0] = 0xff;
  comment[1] = 0xfe;
  comment.writeUInt16BE(2 + text.length, 2); // the length counts itself, not the marker
  text.copy(comment, 4);
  return [jpeg.subarray(0, 2), comment, jpeg.subarray(2)];
}

/** The changed file as one buffer. */
export function uniqueBytes(jpeg, tag) {
  return Buffer.concat(uniqueChunks(jpeg, tag));
}
