import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import webpush from 'web-push';
import { describe, expect, it } from 'vitest';
import { generateVapidKeys } from './vapid.ts';

describe('generateVapidKeys', () => {
  it('makes P-256 pairs in web-push\'s format that web-push accepts and whose halves match', () => {
    for (let i = 0; i < 200; i++) {
      const { publicKey, privateKey } = generateVapidKeys();
      const pub = Buffer.from(publicKey, 'base64url');
      const priv = Buffer.from(privateKey, 'base64url');
      expect(pub.length).toBe(65);
      expect(pub[0]).toBe(4);
      expect(priv.length).toBe(32);
      // web-push validates both halves' encodings and lengths.
      expect(() => webpush.setVapidDetails('mailto:ops@example.com', publicKey, privateKey)).not.toThrow();
      // The private half signs what the public half verifies (ES256, as a VAPID JWT is signed).
      const x = pub.subarray(1, 33).toString('base64url');
      const y = pub.subarray(33).toString('base64url');
      const key = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x, y, d: privateKey }, format: 'jwk' });
      const sig = sign('sha256', Buffer.from('payload'), { key, dsaEncoding: 'ieee-p1363' });
      expect(verify('sha256', Buffer.from('payload'), { key: createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    }
  });
});
