import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './testing/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
/** A compiled server of this test's own, beside dist/main.js (as deep, so its paths resolve the same). */
const BUILT = path.join(ROOT, 'apps/server/dist', `compiled-modules-test-${process.pid}.js`);

/**
 * Preloaded into the server: at exit (SIGTERM makes main.ts exit), writes every file the process
 * loaded through require — the CommonJS dependencies, which is where prom-client would be.
 */
const REPORTER = `
const fs = require('node:fs');
process.on('exit', () => fs.writeFileSync(process.env.LOADED_MODULES_OUT, JSON.stringify(Object.keys(require.cache))));
`;

/** Starts the compiled server as `npm start` would, idle, and returns the packages it had loaded once stopped. */
async function loadedPackages(dir: string, env: Record<string, string>, whileRunning?: (url: string) => Promise<void>): Promise<Set<string>> {
  const port = await freePort();
  const out = path.join(dir, `loaded-${port}.json`);
  const child = spawn(process.execPath, ['--require', path.join(dir, 'reporter.cjs'), BUILT], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: ':memory:',
      PARLEY_DEMO_USERS: '0',
      LOG_LEVEL: 'warn',
      TURN_MODE: 'off',
      STUN_URLS: '',
      LOADED_MODULES_OUT: out,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!output.includes('Parley is running')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await whileRunning?.(`http://127.0.0.1:${port}`);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  const files = JSON.parse(fs.readFileSync(out, 'utf8')) as string[];
  // The innermost node_modules/<package> of each file.
  return new Set(files.map((f) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter((p): p is string => p !== undefined));
}

describe('the compiled server (as npm start runs it)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-modules-'));
    fs.writeFileSync(path.join(dir, 'reporter.cjs'), REPORTER);
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts/build-server.mjs'), BUILT], { cwd: ROOT });
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const f of [BUILT, `${BUILT}.map`]) fs.rmSync(f, { force: true });
  });

  it('does not load prom-client without METRICS_TOKEN (there is no /metrics to read it)', async () => {
    const loaded = await loadedPackages(dir, {}, async (url) => {
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
    });
    expect(loaded).toContain('fastify');
    expect(loaded).not.toContain('prom-client');
    expect(loaded).not.toContain('@opentelemetry/api');
  });

  it('does not load fastify\'s JSON-schema compilers (Parley validates with zod)', async () => {
    const loaded = await loadedPackages(dir, {});
    for (const p of ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'ajv', 'ajv-formats']) expect(loaded).not.toContain(p);
  });

  it('loads prom-client with METRICS_TOKEN and serves the figures', async () => {
    const token = 'compiled-metrics-token-0123';
    const loaded = await loadedPackages(dir, { METRICS_TOKEN: token }, async (url) => {
      const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^parley_sockets_connected 0$/m);
      expect(text).toMatch(/^parley_messages_total 0$/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    });
    expect(loaded).toContain('prom-client');
  });
});
