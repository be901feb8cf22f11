// Mutation testing of shared/ (`npm run mutate`; not part of `npm test` nor of CI).
// MUTATE picks what to mutate: comma-separated folders under the root, default all of shared/.
//   MUTATE=shared/cache npm run mutate
// Each target keeps its own incremental file and reports, so folders run one at a time reuse
// their earlier results: only mutants in changed code, or covered by changed tests, run again.
const targets = (process.env.MUTATE ?? 'shared').split(',').map((t) => t.trim().replace(/\/+$/, '')).filter(Boolean)
const slug = targets.join('+').replaceAll('/', '-')

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.unit.config.ts' },
  mutate: [
    ...targets.map((t) => (t.endsWith('.ts') ? t : `${t}/**/*.ts`)),
    '!**/*.test.ts',
    '!**/test-helpers.ts',
    '!**/*.d.ts',
  ],
  coverageAnalysis: 'perTest',
  // Two cores here, shared with other work.
  concurrency: 1,
  incremental: true,
  incrementalFile: `reports/stryker/${slug}.incremental.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/stryker/${slug}.html` },
  jsonReporter: { fileName: `reports/stryker/${slug}.json` },
  clearTextReporter: { allowColor: false, logTests: false },
  tempDirName: '.stryker-tmp',
  // Not copied into the sandbox: wrangler's scratch files come and go under a running `npm start` or
  // `npm test` (a file gone mid-copy ends the run), and nothing here is imported by shared/'s tests.
  ignorePatterns: ['.wrangler', 'dist', '.dev.vars', 'bench', 'docs', '*.log'],
}
