import { defineConfig } from 'vitest/config'

// The Node unit tests of shared/ alone, for `npm run mutate` (StrykerJS). The workerd projects in
// vitest.config.ts need their global setup (the stand-in) and cannot run under Stryker.
export default defineConfig({
  test: {
    name: 'unit',
    environment: 'node',
    include: ['shared/**/*.test.ts'],
  },
})
