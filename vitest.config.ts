import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['shared/**/*.test.ts', 'workers/sandbox/src/**/*.test.ts'],
        },
      },
    ],
  },
})
