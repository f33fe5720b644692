import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from './app.ts';
import { loadConfig } from './env.ts';

/**
 * Parley validates every input with zod (decision 019): fastify's JSON-schema compilers are never
 * loaded, so a route that asks for one must fail at start-up with a clear reason, not run unchecked.
 */
describe('fastify route schemas', () => {
  let built: BuiltApp | undefined;
  afterEach(async () => {
    await built?.app.close();
    built = undefined;
  });

  const build = async () =>
    (built = await buildApp({ ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', STUN_URLS: '', TURN_MODE: 'off' }), database: { kind: 'sqlite', file: ':memory:' } }, { seedDemoUsers: false }));

  it('a validation schema on a route refuses to start, naming zod', async () => {
    const { app } = await build();
    app.post('/api/with-a-schema', { schema: { body: { type: 'object', properties: { n: { type: 'number' } } } } }, async () => ({ ok: true }));
    await expect(app.ready()).rejects.toThrow(/validates with zod/);
  });

  it('a response schema on a route refuses to start too', async () => {
    const { app } = await build();
    app.get('/api/with-a-response-schema', { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));
    await expect(app.ready()).rejects.toThrow(/validates with zod/);
  });

  it('routes without a schema start and answer (the control)', async () => {
    const { app } = await build();
    app.get('/api/without-a-schema', async () => ({ ok: true }));
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/api/without-a-schema' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
  });
});
