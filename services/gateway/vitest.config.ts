import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@vigil/source'] },
  ssr: { resolve: { conditions: ['@vigil/source'] } },
  test: { include: ['src/**/*.test.ts'] },
});
