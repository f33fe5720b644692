import { createECDH } from 'node:crypto';
import type WebPush from 'web-push';
import type { Db } from '../../db/database.ts';
import type { Config } from '../../env.ts';

let webPush: Promise<typeof WebPush> | undefined;
/**
 * web-push (with its JWT, ASN.1 and big-number code, ~0.3 MB of source kept resident) is loaded
 * the first time a push is sent, not by every node at start-up (a new key pair does not need it).
 */
export function loadWebPush(): Promise<typeof WebPush> {
  webPush ??= import('web-push').then((m) => m.default);
  return webPush;
}

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/**
 * A new P-256 key pair in web-push's format (what its generateVAPIDKeys makes): the uncompressed
 * public point (65 bytes) and the private scalar (32 bytes, left-padded), base64url.
 */
export function generateVapidKeys(): VapidKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const scalar = ecdh.getPrivateKey();
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: Buffer.concat([Buffer.alloc(32 - scalar.length), scalar]).toString('base64url') };
}

/**
 * The server's VAPID key pair: the configured one, else the one in the database, else a new pair
 * stored there. Browsers subscribe with the public key, so it must outlive restarts: a new pair
 * would orphan every subscription. Two nodes starting at once on an empty database agree, because
 * the first insert wins and both read it back.
 */
export async function loadVapidKeys(db: Db, config: Config['push']): Promise<VapidKeys & { source: 'env' | 'database' | 'generated' }> {
  if (config.vapid) return { ...config.vapid, source: 'env' };
  const stored = await db.selectFrom('vapid_keys').select(['public_key', 'private_key']).where('id', '=', 1).executeTakeFirst();
  if (stored) return { publicKey: stored.public_key, privateKey: stored.private_key, source: 'database' };
  const made = generateVapidKeys();
  await db
    .insertInto('vapid_keys')
    .values({ id: 1, public_key: made.publicKey, private_key: made.privateKey, created_at: Date.now() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await db.selectFrom('vapid_keys').select(['public_key', 'private_key']).where('id', '=', 1).executeTakeFirstOrThrow();
  return { publicKey: row.public_key, privateKey: row.private_key, source: row.public_key === made.publicKey ? 'generated' : 'database' };
}
