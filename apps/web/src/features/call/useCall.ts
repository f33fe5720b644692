import { useEffect, useState, useSyncExternalStore } from 'react';
import type { RealtimeSocket } from '../../lib/realtime.ts';
import { DEVICE_ID } from '../../lib/realtime.ts';
import { CallController, type CallPeer, type CallSnapshot } from './callController.ts';
import { callSocketOf } from './callSocket.ts';
import { browserMediaAccess } from './media.ts';
import { WebAudioTones } from './tones.ts';

/**
 * The signed-in person's calls, listening on the app's socket while the component using this is
 * mounted. `resolvePeer` names and colours an incoming caller; it is read when a call rings, so it
 * should be stable (a function of stores, not of render state).
 */
export function useCallController(
  socket: RealtimeSocket,
  resolvePeer: (userId: string) => Omit<CallPeer, 'id'> | undefined,
): CallController {
  const [{ controller, tones }] = useState(() => {
    const tones = new WebAudioTones();
    const controller = new CallController({
      socket: callSocketOf(socket),
      deviceId: DEVICE_ID,
      media: browserMediaAccess(),
      tones,
      resolvePeer,
    });
    return { controller, tones };
  });

  useEffect(() => {
    controller.start();
    return () => {
      controller.stop();
      tones.close();
    };
  }, [controller, tones]);

  return controller;
}

export function useCallState(controller: CallController): CallSnapshot {
  return useSyncExternalStore(controller.subscribe, controller.getSnapshot);
}

/** Epoch ms, updated every second while `running`: drives the call timer. */
export function useNow(running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const tick = () => setNow(Date.now());
    tick();
    const timer = setInterval(tick, 1000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}
