// Runs once per test run, before any journey: the server serves apps/web/dist, so the journeys need
// a build no older than the web app's sources.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, webDir, webDist } from './support/paths.ts';

const BUILD_TIMEOUT_MS = 300_000;

/** Newest modification time under `dir` (node_modules and dist skipped); 0 when it does not exist. */
function newestMtime(dir: string): number {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.isFile()) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function mtimeOf(file: string): number {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

/** Why the web build must be redone, or undefined when dist is current. */
export function staleReason(): string | undefined {
  const index = path.join(webDist, 'index.html');
  if (!existsSync(index)) return 'apps/web/dist/index.html is missing';
  const built = statSync(index).mtimeMs;
  // The sources, plus the few files beside them that change the bundle.
  const inputs = [
    newestMtime(path.join(webDir, 'src')),
    mtimeOf(path.join(webDir, 'index.html')),
    // The manifest and icons, copied into the build as they are.
    newestMtime(path.join(webDir, 'public')),
    mtimeOf(path.join(webDir, 'vite.config.ts')),
    // Every workspace package the web app bundles.
    newestMtime(path.join(repoRoot, 'packages/protocol/src')),
    newestMtime(path.join(repoRoot, 'packages/call/src')),
  ];
  if (inputs.some((t) => t > built)) return 'apps/web/dist is older than its sources';
  return undefined;
}

export default function setup(): void {
  const reason = staleReason();
  if (reason === undefined) return;
  console.log(`[e2e] ${reason}: running npm run build -w @parley/web`);
  const started = Date.now();
  const result = spawnSync('npm', ['run', 'build', '-w', '@parley/web'], {
    cwd: repoRoot,
    stdio: 'inherit',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (result.error) throw new Error(`[e2e] could not run the web build: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`[e2e] npm run build -w @parley/web failed (exit ${result.status ?? result.signal})`);
  if (!existsSync(path.join(webDist, 'index.html'))) {
    throw new Error('[e2e] the web build succeeded but apps/web/dist/index.html does not exist');
  }
  console.log(`[e2e] web build done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
