// The list-admin port the gateway's POST /v1/lists/:name/versions uses: a version written with
// the database's counts, an audit entry naming who imported it, and a bad file refused whole.

import type { Pool } from '@vigil/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool, postgres, randomHash } from '../test/support.ts';
import { createListsAdmin } from './import-list.ts';

describe.skipIf(!postgres.available)('lists admin port', () => {
  let pool: Pool;
  beforeAll(async () => void (pool = await openPool()));
  afterAll(async () => void (await pool?.end()));

  it('imports versions with their diff, audited under the caller, and refuses a bad file whole', async () => {
    const admin = createListsAdmin(pool);
    const [a, b, c] = [randomHash(), randomHash(), randomHash()];
    const first = await admin.importVersion(Buffer.from(`${a},A\n${b},B\n`), { name: 'api-list', algorithm: 'pdq', format: 'plain', source: 'api:test' }, 'token:admin');
    expect(first).toEqual({ status: 'imported', list: 'api-list', version: 1, entries: 2, added: 2, removed: 0, changed: 0 });
    const second = await admin.importVersion(Buffer.from(`${b},B\n${c},C\n`), { name: 'api-list', algorithm: 'pdq', format: 'plain', source: 'api:test', threshold: 20 }, 'token:admin');
    expect(second).toEqual({ status: 'imported', list: 'api-list', version: 2, entries: 2, added: 1, removed: 1, changed: 0 });
    const refused = await admin.importVersion(Buffer.from(`${a}\nnot-a-hash\n`), { name: 'api-list', algorithm: 'pdq', format: 'plain', source: 'api:test' }, 'token:admin');
    expect(refused).toMatchObject({ status: 'refused', errors: [{ line: 2 }] });
    expect(JSON.stringify(refused)).not.toContain(a);
    const { rows } = await pool.query(`SELECT actor, details->>'version' AS version FROM audit_log WHERE action = 'hashlist.version_imported' ORDER BY seq`);
    expect(rows).toEqual([{ actor: 'token:admin', version: '1' }, { actor: 'token:admin', version: '2' }]);
    const { rows: events } = await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE type = 'hashlist.updated.v1'`);
    expect(events[0].n).toBe(2);
  });
});
