import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@vigil/source'] },
  ssr: { resolve: { conditions: ['@vigil/source'] } },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // One Postgres server per run; each suite creates its own database.
    globalSetup: ['@vigil/testkit/postgres-global-setup'],
  },
});
