import { createHmac } from 'node:crypto';
import type { RtcConfigResponse } from '@parley/protocol';

export interface IceSettings {
  stunUrls: string[];
  turnUrls: string[];
  /** coturn `use-auth-secret` shared secret (TURN REST API credentials). */
  turnSecret?: string;
  /** Static credentials, for a commercial TURN service. */
  turnUsername?: string;
  turnCredential?: string;
  turnTtlS: number;
  transportPolicy: 'all' | 'relay';
}

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, what coturn's `use-auth-secret`
 * checks): username `<unix expiry>:<user id>`, credential base64(HMAC-SHA1(secret, username)).
 */
export function mintTurnCredential(secret: string, userId: string, expiresAtS: number): { username: string; credential: string } {
  const username = `${expiresAtS}:${userId}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The RTCConfiguration for one person; `turnUrls` override the configured ones (managed coturn). */
export function rtcConfigFor(settings: IceSettings, userId: string, now = Date.now(), turnUrls = settings.turnUrls): RtcConfigResponse {
  const iceServers: RtcConfigResponse['iceServers'] = [];
  if (settings.stunUrls.length > 0) iceServers.push({ urls: settings.stunUrls });
  const expiresAtS = Math.floor(now / 1000) + settings.turnTtlS;
  if (turnUrls.length > 0) {
    if (settings.turnSecret) {
      iceServers.push({ urls: turnUrls, ...mintTurnCredential(settings.turnSecret, userId, expiresAtS) });
    } else if (settings.turnUsername && settings.turnCredential) {
      iceServers.push({ urls: turnUrls, username: settings.turnUsername, credential: settings.turnCredential });
    }
  }
  return { iceServers, iceTransportPolicy: settings.transportPolicy, expiresAt: expiresAtS * 1000 };
}
