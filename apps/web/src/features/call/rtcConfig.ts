import { RtcConfigResponse } from '@parley/protocol';
import { request } from '../../lib/http.ts';

/**
 * The RTCConfiguration for a call, from the server: STUN, and TURN with short-lived credentials
 * minted for this person (GET /api/rtc-config). Fetched for every call and before every ICE
 * restart, so credentials are always fresh; nothing about ICE servers is built into the bundle.
 */
export async function getRtcConfiguration(): Promise<RTCConfiguration> {
  const config = await request('/api/rtc-config', { schema: RtcConfigResponse });
  return { iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy };
}
