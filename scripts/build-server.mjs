// `npm run build:server`: the server compiled for production, so `npm start` runs plain node on
// JavaScript instead of compiling TypeScript at run time with tsx (which kept its compiler and
// cache resident: ~150 MB idle instead of ~70). One ES module, apps/server/dist/main.js, with the
// workspace packages (@parley/*, TypeScript source) bundled in and every npm dependency left to
// node_modules as usual (native modules, pino's transports and the like load as they always do).
// The output sits as deep as apps/server/src, so paths resolved from import.meta.dirname (the
// repository root, apps/web/dist) are the same. docs/decisions/010-compiled-server.md.
// `node scripts/build-server.mjs [OUTFILE]`: another file instead (tests build a copy of their own
// beside dist/main.js, as deep, so as not to race a benchmark building and starting that one).
import { build } from 'esbuild';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
/**
 * Dependencies bundled in (and minified with the rest): pure ES modules with no files, native code,
 * workers or `require` of their own, and the largest source texts the server keeps resident (zod
 * ~1.5 MB, kysely ~0.6 MB, as V8 keeps every loaded module's source). Nothing external imports
 * them, so there is still one copy of each.
 */
const INLINED = /^(zod|kysely)(\/|$)/;
const outfile = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'apps/server/dist/main.js');
const started = Date.now();
await build({
  entryPoints: [path.join(root, 'apps/server/src/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Smaller source texts to keep resident; names kept (error classes, stack traces).
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'npm-dependencies-external',
      setup(b) {
        // A bare import that is not one of ours, nor one of the pure ES-module libraries inlined
        // below, stays an import of node_modules.
        b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@parley/') || INLINED.test(args.path) ? undefined : { path: args.path, external: true }));
      },
    },
  ],
});
console.log(`${path.relative(root, outfile)} built in ${Date.now() - started} ms`);
