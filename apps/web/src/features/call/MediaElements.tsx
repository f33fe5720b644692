import { useEffect, useRef } from 'react';

/** Binds a MediaStream to a media element (React has no srcObject prop) and starts playback. */
function useStream<E extends HTMLMediaElement>(stream: MediaStream | null) {
  const ref = useRef<E>(null);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    if (element.srcObject !== stream) element.srcObject = stream;
    // autoPlay covers most cases; play() again for browsers that paused on a srcObject swap.
    if (stream) element.play().catch(() => undefined);
  }, [stream]);
  return ref;
}

interface StreamVideoProps {
  stream: MediaStream | null;
  /** The accessible name ("Remote video", "Local video"). */
  label: string;
  className?: string;
  /** Own video: muted, or one hears oneself. Remote video is never muted: it carries the call's sound. */
  muted?: boolean;
}

export function StreamVideo({ stream, label, className, muted = false }: StreamVideoProps) {
  const ref = useStream<HTMLVideoElement>(stream);
  return <video ref={ref} className={className} aria-label={label} autoPlay playsInline muted={muted} />;
}

/** The other person's sound on an audio-only call (no <video> on screen to play it). */
export function StreamAudio({ stream }: { stream: MediaStream | null }) {
  const ref = useStream<HTMLAudioElement>(stream);
  return <audio ref={ref} aria-label="Remote audio" autoPlay />;
}
