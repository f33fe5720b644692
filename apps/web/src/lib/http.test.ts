import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorMessage, onUnauthenticated, request, RequestError, toRequestError } from './http.ts';

afterEach(() => vi.unstubAllGlobals());

describe('toRequestError', () => {
  it('keeps the ApiError code, message and fields', () => {
    const err = toRequestError(400, { error: { code: 'bad_request', message: 'Check the form.', fields: { email: 'must be an email address' } } });
    expect(err).toMatchObject({ code: 'bad_request', status: 400, message: 'Check the form.' });
    expect(errorMessage(err)).toBe('Check the form. (email must be an email address)');
  });

  it('words a body that is not an ApiError (proxy page, crash)', () => {
    expect(toRequestError(502, '<html>Bad gateway</html>').message).toMatch(/HTTP 502/);
    expect(toRequestError(401, undefined).code).toBe('unauthenticated');
    expect(errorMessage(new Error('x'))).toBe('Something went wrong. Please try again.');
  });
});

describe('request', () => {
  const reply = (status: number, body?: unknown) =>
    vi.stubGlobal('fetch', vi.fn(async () => new Response(body === undefined ? null : JSON.stringify(body), { status })));

  it('announces an ended session on 401, except where 401 means wrong credentials', async () => {
    const ended = vi.fn();
    const off = onUnauthenticated(ended);
    reply(401, { error: { code: 'unauthenticated', message: 'Email or password is incorrect' } });
    await expect(request('/api/auth/login', { method: 'POST', body: {}, sessionRequired: false })).rejects.toBeInstanceOf(RequestError);
    expect(ended).not.toHaveBeenCalled();
    await expect(request('/api/conversations')).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(ended).toHaveBeenCalledTimes(1);
    off();
  });

  it('sends the cookie, JSON in and out, and accepts 204', async () => {
    reply(204);
    await expect(request('/api/auth/logout', { method: 'POST' })).resolves.toBeUndefined();
    const fetch = vi.mocked(globalThis.fetch);
    expect(fetch.mock.calls[0]?.[1]).toMatchObject({ method: 'POST', credentials: 'same-origin' });
  });

  it('reports a network failure in words', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(request('/api/me')).rejects.toMatchObject({ code: 'network', status: 0 });
  });

  it('refuses a 2xx body that does not match the schema', async () => {
    reply(200, { nope: true });
    const schema = { parse: (d: unknown) => { if (!(d as { ok?: boolean }).ok) throw new Error('bad'); return d; } };
    await expect(request('/api/me', { schema })).rejects.toMatchObject({ code: 'bad_response' });
  });
});
