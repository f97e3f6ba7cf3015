import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@vigil/source'] },
  ssr: { resolve: { conditions: ['@vigil/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    // One Postgres server per run; each test file creates its own database.
    globalSetup: ['@vigil/testkit/postgres-global-setup'],
  },
});
