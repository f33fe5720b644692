import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import react from '@vitejs/plugin-react';
import { build as esbuild } from 'esbuild';
import { defineConfig, type Plugin } from 'vite';

// The API server in development. Only a URL: the bundle never carries credentials or VITE_ secrets.
const api = process.env.PARLEY_API_URL ?? 'http://localhost:3000';

function filesUnder(dir: string, base = dir): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full, base) : ['/' + path.relative(base, full).split(path.sep).join('/')];
  });
}

/**
 * Builds src/sw/service-worker.ts into dist/sw.js (one self-contained script, no shared chunks)
 * with the list of every built file to precache. The list and a version from it are written into
 * the worker itself, so each new build changes sw.js and browsers install the new shell.
 */
function serviceWorker(): Plugin {
  return {
    name: 'parley-service-worker',
    apply: 'build',
    enforce: 'post',
    async generateBundle(_options, bundle) {
      const publicFiles = filesUnder(path.resolve(import.meta.dirname, 'public'));
      const built = Object.keys(bundle).filter((f) => !f.endsWith('.map')).map((f) => '/' + f);
      const precache = [...new Set([...built, ...publicFiles])].sort();
      const hash = createHash('sha256').update(precache.join('\n'));
      for (const item of Object.values(bundle)) hash.update(item.type === 'chunk' ? item.code : item.source);
      const result = await esbuild({
        entryPoints: [path.resolve(import.meta.dirname, 'src/sw/service-worker.ts')],
        bundle: true,
        write: false,
        format: 'iife',
        minify: true,
        target: 'es2022',
        logLevel: 'silent',
        define: { __PARLEY_PRECACHE__: JSON.stringify(precache), __PARLEY_VERSION__: JSON.stringify(hash.digest('hex').slice(0, 12)) },
      });
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: result.outputFiles[0]!.text });
    },
  };
}

export default defineConfig({
  plugins: [react(), serviceWorker()],
  server: {
    proxy: {
      '/api': { target: api },
      '/healthz': { target: api },
      '/socket.io': { target: api, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
});
