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
    // The demo accounts' password is public: never in production, whatever PARLEY_DEMO_USERS says.
    expect(loadConfig({ NODE_ENV: 'production', PARLEY_DEMO_USERS: '1' }).demoUsers).toBe(false);
    expect(loadConfig({ PARLEY_DEMO_USERS: '0' }).demoUsers).toBe(false);
  });

  it('lets ringing devices pre-connect unless CALL_PRECONNECT turns it off', () => {
    expect(loadConfig({}).calls.preconnect).toBe(true);
    expect(loadConfig({ CALL_PRECONNECT: '0' }).calls.preconnect).toBe(false);
    expect(loadConfig({ CALL_PRECONNECT: 'false' }).calls.preconnect).toBe(false);
    expect(loadConfig({ CALL_PRECONNECT: 'yes' }).calls.preconnect).toBe(true);
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
    ['CALL_PRECONNECT', 'sometimes'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*got "${value}"`));
  });

  it('takes a VAPID key pair only whole and well-formed; previews are off by default', () => {
    const pub = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM';
    const priv = 'eSwV8y2Wx2O6wSUmqXYPsMvNAUqNVR2-Xb4QUq5ICJs';
    expect(loadConfig({}).push).toEqual({ vapid: undefined, subject: 'mailto:admin@parley.invalid', previews: false, allowLocalEndpoints: false });
    expect(loadConfig({ VAPID_PUBLIC_KEY: pub, VAPID_PRIVATE_KEY: priv, VAPID_SUBJECT: 'mailto:it@clinic.example', PUSH_PREVIEWS: '1' }).push).toMatchObject({
      vapid: { publicKey: pub, privateKey: priv },
      subject: 'mailto:it@clinic.example',
      previews: true,
    });
    expect(() => loadConfig({ VAPID_PUBLIC_KEY: pub })).toThrow(/VAPID_PRIVATE_KEY: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together/);
    expect(() => loadConfig({ VAPID_PUBLIC_KEY: pub.slice(0, 40), VAPID_PRIVATE_KEY: priv })).toThrow(/VAPID_PUBLIC_KEY: must be an uncompressed P-256/);
    expect(() => loadConfig({ VAPID_PUBLIC_KEY: pub, VAPID_PRIVATE_KEY: 'abc' })).toThrow(/VAPID_PRIVATE_KEY: must be a 32-byte/);
    expect(() => loadConfig({ VAPID_SUBJECT: 'admin@clinic.example' })).toThrow(/VAPID_SUBJECT: must be a mailto: or https: URL/);
  });

  it('takes REDIS_URL only as a redis:// or rediss:// URL with a host; unset, one node with everything in memory', () => {
    expect(loadConfig({}).redisUrl).toBeUndefined();
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisUrl).toBe('redis://127.0.0.1:6379');
    expect(loadConfig({ REDIS_URL: 'rediss://user:secret@cache.clinic.example:6380/2' }).redisUrl).toBe('rediss://user:secret@cache.clinic.example:6380/2');
    for (const bad of ['localhost:6379', 'http://cache:6379', 'redis://', 'redis://cache:port', 'redis://cache:6379/zero', 'redis://ca che:6379']) {
      expect(() => loadConfig({ REDIS_URL: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ REDIS_URL: bad }), bad).toThrow(/REDIS_URL: must be redis:\/\/\[user:password@\]host\[:port\]/);
    }
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
