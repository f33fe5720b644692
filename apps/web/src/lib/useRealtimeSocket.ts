import { useEffect, useState } from 'react';
import { createRealtimeSocket, type RealtimeSocket } from './realtime.ts';

/**
 * The app's socket, connected while the component using this is mounted (the signed-in frame).
 * Features attach their listeners in their own effects; this hook alone connects and disconnects.
 */
export function useRealtimeSocket(): RealtimeSocket {
  const [socket] = useState(createRealtimeSocket);
  useEffect(() => {
    socket.connect();
    return () => {
      socket.disconnect();
    };
  }, [socket]);
  return socket;
}
