// content_hashes' packed view columns (migrations/0016_retro_views.sql), which the retro join
// streams: generated from derived_hashes on insert and on update, grouped by the radius they are
// searched at, malformed pieces left out.
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgres } from '../test/database.ts';
import { migrate, type Pool } from './index.ts';

const hex = (byte: string) => byte.repeat(32);

describe.skipIf(!postgres.available)('content_hashes view columns', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = (await freshDatabase()).pool();
    await migrate(pool);
  });

  const insert = async (key: string, derived: unknown) =>
    (
      await pool.query<{ id: string }>(
        `INSERT INTO content_hashes (tenant_id, bucket, object_key, size, sha256, derived_hashes) VALUES ('t', 'b', $1, 1, $2, $3) RETURNING id`,
        [key, Buffer.alloc(32, key.length), derived === null ? null : JSON.stringify(derived)],
      )
    ).rows[0]!.id;
  const columns = async (id: string) =>
    (
      await pool.query(
        `SELECT encode(view_pdq, 'hex') AS view, encode(compensated_pdq, 'hex') AS compensated, encode(view_blockhash, 'hex') AS blockhash
           FROM content_hashes WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('packs each view group in order, on insert and on update, and leaves out what is not a 64-hex hash', async () => {
    const id = await insert('full.jpg', {
      region: { pdq: hex('a1'), pdqQuality: 80, blockhash: hex('b1') },
      alternateRegion: { pdq: hex('a2'), pdqQuality: 20 },
      upscaled: [{ factor: 2, pdq: hex('a3'), pdqQuality: 60 }, { factor: 4, pdq: 'not-hex', pdqQuality: 60 }],
      uncropped: [{ kept: 0.95, pdq: hex('c1'), pdqQuality: 70 }, { kept: 0.9, pdq: hex('C2'), pdqQuality: 70 }, 'junk'],
      overlayFree: [{ factor: 1, pdq: hex('c3'), pdqQuality: 55, textShare: 0.05 }],
    });
    // Upper-case hex is not what the scanner writes: left out, like any other malformed value.
    expect(await columns(id)).toEqual({ view: hex('a1') + hex('a2') + hex('a3'), compensated: hex('c1') + hex('c3'), blockhash: hex('b1') });

    await pool.query(`UPDATE content_hashes SET derived_hashes = $2 WHERE id = $1`, [id, JSON.stringify({ uncropped: [{ kept: 0.8, pdq: hex('d1'), pdqQuality: 70 }] })]);
    expect(await columns(id)).toEqual({ view: null, compensated: hex('d1'), blockhash: null });
  });

  it('is null for content without views, and for derived hashes of the wrong shape', async () => {
    expect(await columns(await insert('none.jpg', null))).toEqual({ view: null, compensated: null, blockhash: null });
    expect(await columns(await insert('odd.jpg', { region: 'x', uncropped: { kept: 1 }, upscaled: 3 }))).toEqual({ view: null, compensated: null, blockhash: null });
  });
});
