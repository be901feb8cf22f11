import { defineConfig } from 'vitest/config'

// The Node unit tests of shared/ alone, for `npm run mutate` (StrykerJS). The workerd projects in
// vitest.config.ts need their global setup (the stand-in) and cannot run under Stryker. The fuzz
// tests are left out: their random cases would make a mutant's fate vary from run to run.
export default defineConfig({
  test: {
    name: 'unit',
    environment: 'node',
    include: ['shared/**/*.test.ts'],
    exclude: ['**/*.fuzz.test.ts', '**/node_modules/**'],
  },
})
