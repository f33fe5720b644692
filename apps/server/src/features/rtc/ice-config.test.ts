import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../env.ts';
import { startTestServer, type TestServer } from '../../testing/harness.ts';
import { mintTurnCredential, rtcConfigFor } from './ice-config.ts';

describe('ICE servers from the environment', () => {
  it('defaults to Google STUN and no TURN; an empty STUN_URLS means none', () => {
    expect(loadConfig({}).ice).toMatchObject({ stunUrls: ['stun:stun.l.google.com:19302'], turnUrls: [], transportPolicy: 'all' });
    expect(loadConfig({ STUN_URLS: '' }).ice.stunUrls).toEqual([]);
  });

  it.each([
    ['STUN_URLS', 'stun:host?transport='],
    ['STUN_URLS', 'stun:host?transport=udp'],
    ['STUN_URLS', 'stun:a.example,,stun:b.example'],
    ['STUN_URLS', 'http://stun.example'],
    ['STUN_URLS', 'stun:host:99999'],
    ['TURN_URLS', 'turn:host?transport='],
    ['TURN_URLS', 'turn:host?transport=sctp'],
    ['TURN_URLS', 'turn:'],
  ])('refuses %s=%s at boot, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value, TURN_SECRET: 'x'.repeat(32) })).toThrow(new RegExp(`${name}: contains`));
  });

  it('refuses TURN URLs without credentials, and half a static pair', () => {
    expect(() => loadConfig({ TURN_URLS: 'turn:turn.example:3478' })).toThrow(/TURN_URLS: needs credentials/);
    expect(() => loadConfig({ TURN_URLS: 'turn:turn.example', TURN_USERNAME: 'u' })).toThrow(ConfigError);
    expect(() => loadConfig({ TURN_SECRET: 'short' })).toThrow(/TURN_SECRET/);
    expect(() => loadConfig({ TURN_MODE: 'external' })).toThrow(/TURN_MODE: external needs TURN_URLS/);
    expect(loadConfig({ TURN_URLS: 'turn:[2001:db8::1]:3478?transport=tcp, turns:turn.example:443', TURN_USERNAME: 'u', TURN_CREDENTIAL: 'p' }).ice.turnUrls).toEqual([
      'turn:[2001:db8::1]:3478?transport=tcp',
      'turns:turn.example:443',
    ]);
  });

  it('mints coturn REST credentials: <expiry>:<user>, base64 HMAC-SHA1', () => {
    const { username, credential } = mintTurnCredential('s3cret-s3cret-s3cret', 'user-1', 1_800_000_000);
    expect(username).toBe('1800000000:user-1');
    expect(credential).toBe(createHmac('sha1', 's3cret-s3cret-s3cret').update('1800000000:user-1').digest('base64'));
    const c = rtcConfigFor(
      { stunUrls: ['stun:s.example'], turnUrls: ['turn:t.example'], turnSecret: 's3cret-s3cret-s3cret', turnTtlS: 600, transportPolicy: 'relay' },
      'user-1',
      1_000_000_000_000,
    );
    expect(c).toEqual({
      iceServers: [{ urls: ['stun:s.example'] }, { urls: ['turn:t.example'], ...mintTurnCredential('s3cret-s3cret-s3cret', 'user-1', 1_000_000_600) }],
      iceTransportPolicy: 'relay',
      expiresAt: 1_000_000_600_000,
    });
  });
});

describe('GET /api/rtc-config', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ env: { STUN_URLS: 'stun:stun.parley.test:3478', TURN_URLS: 'turn:turn.parley.test:3478', TURN_SECRET: 'a-long-shared-secret-for-tests', TURN_TTL_S: '120' } });
  });
  afterAll(async () => s?.close());

  it('gives each signed-in person their own short-lived TURN credentials, never cached', async () => {
    expect((await s.request('GET', '/api/rtc-config')).status).toBe(401);
    const dana = await s.login('doctor@example.com');
    const danaId = (await s.request('GET', '/api/me', { cookie: dana })).body.user.id;
    const r = await s.request('GET', '/api/rtc-config', { cookie: dana });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const turn = r.body.iceServers.find((x: { urls: string[] }) => x.urls[0]!.startsWith('turn:'));
    const [expiry, user] = turn.username.split(':');
    expect(user).toBe(danaId);
    expect(Number(expiry) * 1000).toBe(r.body.expiresAt);
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(100);
    expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(120);
    expect(turn.credential).toBe(createHmac('sha1', 'a-long-shared-secret-for-tests').update(turn.username).digest('base64'));
    expect(JSON.stringify(r.body)).not.toContain('a-long-shared-secret-for-tests');
  });
});
