import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@vigil/source'] },
  ssr: { resolve: { conditions: ['@vigil/source'] } },
  test: { include: ['**/*.test.ts'], exclude: ['**/node_modules/**'], testTimeout: 120_000 },
});
