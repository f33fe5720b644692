import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, found from this file so the suite runs from any checkout location. */
export const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export const serverMain = path.join(repoRoot, 'apps/server/src/main.ts');
export const webDir = path.join(repoRoot, 'apps/web');
export const webDist = path.join(webDir, 'dist');
export const screenshotDir = path.join(repoRoot, 'docs/screenshots');
/** Screenshots and page logs of failed journeys (ignored by git: `test-results/`). */
export const failureDir = path.join(repoRoot, 'e2e/test-results');
