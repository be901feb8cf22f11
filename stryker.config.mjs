// Mutation testing of shared/ (`npm run mutate`; not part of `npm test` nor of CI).
// MUTATE picks what to mutate: comma-separated folders or files (a file may carry a line range, as
// Stryker's `--mutate` takes it), default all of shared/.
//   MUTATE=shared/cache npm run mutate
//   MUTATE=shared/problem/problem.ts:57-82 npm run mutate -- --force
// Each target keeps its own incremental file and reports, so folders run one at a time reuse
// their earlier results: only mutants in changed code, or covered by changed tests, run again.
// Mutants of module-level code (static: run while a module loads, not inside a test) are reused
// whatever the tests did: after adding tests, `npm run mutate -- --force` tests them again.
const targets = (process.env.MUTATE ?? 'shared').split(',').map((t) => t.trim().replace(/\/+$/, '')).filter(Boolean)
const slug = targets.join('+').replaceAll(/[/:]/g, '-')

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.unit.config.ts' },
  mutate: [
    ...targets.map((t) => (/\.ts(:[\d:-]+)?$/.test(t) ? t : `${t}/**/*.ts`)),
    '!**/*.test.ts',
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
