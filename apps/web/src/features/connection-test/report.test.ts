import { describe, expect, it } from 'vitest';
import { buildReport, reportFileName, scrub } from './report.ts';

describe('buildReport', () => {
  it('keeps the servers as URLs only and scrubs the credentials from everything else', () => {
    const username = '1767225600:0b6f2a52-3c1e-4c1a-9a51-6f0f3f1f2a10';
    const credential = 'c2VjcmV0LWNyZWRlbnRpYWwtdmFsdWU=';
    const report = buildReport({
      startedAt: '2025-03-01T10:00:00.000Z',
      finishedAt: '2025-03-01T10:00:12.000Z',
      userAgent: 'test',
      servers: [{ urls: 'stun:relay.clinic.example:3478' }, { urls: ['turn:relay.clinic.example:3478'], username, credential }],
      iceTransportPolicy: 'all',
      media: null,
      gathering: {
        candidates: [],
        // A browser that echoed the username in an error text must not leak it either.
        errors: [{ url: 'turn:relay.clinic.example:3478', errorCode: 401, errorText: `Unauthorized for ${username}`, atMs: 20 }],
        complete: true,
        durationMs: 150,
      },
      found: null,
      turn: { auth: 'rejected', urls: [] },
      relayRtt: { method: 'none', note: 'Could not measure: no relay reachable' },
      networkError: null,
      verdict: null,
    });
    const json = JSON.stringify(report);
    expect(json).not.toContain(username);
    expect(json).not.toContain(credential);
    expect(json).not.toMatch(/"username"|"credential"/);
    expect((report.network as { iceServers: unknown }).iceServers).toEqual([
      { urls: ['stun:relay.clinic.example:3478'] },
      { urls: ['turn:relay.clinic.example:3478'] },
    ]);
    expect(json).toContain('Unauthorized for [removed]');
  });

  it('scrubs nested values and leaves the rest alone', () => {
    expect(scrub({ a: ['xSECRETx', 1, null], b: { c: 'SECRET' } }, ['SECRET'])).toEqual({ a: ['x[removed]x', 1, null], b: { c: '[removed]' } });
  });

  it('names the file by time', () => {
    expect(reportFileName(new Date('2025-03-01T10:00:12.345Z'))).toBe('parley-connection-test-2025-03-01T10-00-12Z.json');
  });
});
