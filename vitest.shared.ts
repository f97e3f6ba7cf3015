// The vitest configuration every package shares: tests run from TypeScript source (the
// `@vigil/source` export condition), and packages that talk to Postgres get one server per run
// (each test file creates its own database).

import { defineConfig } from 'vitest/config';

export function vigilVitestConfig(options: { postgres?: boolean } = {}) {
  return defineConfig({
    resolve: { conditions: ['@vigil/source'] },
    ssr: { resolve: { conditions: ['@vigil/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 60_000,
      ...(options.postgres && { globalSetup: ['@vigil/testkit/postgres-global-setup'] }),
    },
  });
}
