// vitest globalSetup: one Postgres server for the whole test run of a package, handed to test
// files via provide('vigilPostgres'); each file then creates its own database. Use it with
// `test.globalSetup: ['@vigil/testkit/postgres-global-setup']`.

import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './postgres.ts';
import { integrationRequired } from './resolve.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    const server = await startPostgresServer();
    project.provide('vigilPostgres', { source: server.source, url: server.url });
    return () => server.stop();
  } catch (err) {
    if (integrationRequired()) throw err;
    // Files will report the skip loudly (resolvePostgres -> unavailable) with this reason.
    project.provide('vigilPostgres', { error: (err as Error).message });
    return async () => {};
  }
}
