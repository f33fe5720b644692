import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './env.ts';

describe('configuration from the environment', () => {
  it('has working defaults: SQLite in ./data, port 3000, demo users outside production', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.database).toEqual({ kind: 'sqlite', file: path.resolve('data/parley.db') });
    expect(c.demoUsers).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).demoUsers).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', PARLEY_DEMO_USERS: '1' }).demoUsers).toBe(true);
    expect(loadConfig({ PARLEY_DEMO_USERS: '0' }).demoUsers).toBe(false);
  });

  it('selects PostgreSQL from DATABASE_URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/parley' }).database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db:5432/parley' });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['PARLEY_DEMO_USERS', 'maybe'],
    ['PARLEY_ORIGINS', 'not a url'],
    ['SESSION_TTL_HOURS', '0'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*got "${value}"`));
  });

  it('stops the server process with that message', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'main.ts')], {
      env: { ...process.env, PORT: 'eighty', DATABASE_URL: ':memory:' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Invalid configuration:\n\s+PORT: /);
  });
});
