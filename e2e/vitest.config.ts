// Runs only the browser journeys: `npx vitest run --root e2e` (or --config e2e/vitest.config.ts).
// The repo-root vitest.config.ts declares the same settings for its "e2e" project.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'e2e',
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['**/*.e2e.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['./global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file starts its own server and Chromium; on two cores they run one at a time.
    fileParallelism: false,
  },
});
