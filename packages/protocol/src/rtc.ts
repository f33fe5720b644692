import { z } from 'zod';

/** One entry of RTCConfiguration.iceServers. */
export const IceServer = z.object({
  urls: z.array(z.string()),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServer>;

/**
 * `GET /api/rtc-config`: the RTCConfiguration for this signed-in person. TURN credentials are minted
 * per person and expire at `expiresAt` (ms since the epoch); fetch a new one before that and before
 * every ICE restart.
 */
export const RtcConfigResponse = z.object({
  iceServers: z.array(IceServer),
  iceTransportPolicy: z.enum(['all', 'relay']),
  expiresAt: z.number().int(),
});
export type RtcConfigResponse = z.infer<typeof RtcConfigResponse>;
