/** getUserMedia failures in plain words, for calls and for the connection test. */

export type MediaDevice = 'camera' | 'microphone' | 'both';

const NAMES: Record<MediaDevice, { noun: string; none: string; are: string }> = {
  camera: { noun: 'camera', none: 'No camera found', are: 'The camera is' },
  microphone: { noun: 'microphone', none: 'No microphone found', are: 'The microphone is' },
  both: { noun: 'camera and microphone', none: 'No camera or microphone found', are: 'The camera and microphone are' },
};

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** What went wrong with getUserMedia, in plain words (the DOMException names of the Media Capture spec, and Chrome's legacy ones). */
export function describeMediaError(error: unknown, device: MediaDevice): string {
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  const n = NAMES[device];
  switch (name) {
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return n.none;
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return `${cap(n.noun)} permission was denied`;
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return `${n.are} in use by another app or could not be started`;
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
      return `The selected ${n.noun} is not available`;
    case 'NotSupportedError':
      return `This browser cannot use the ${n.noun} here (calls need a secure https connection)`;
    default:
      return `The ${n.noun} could not be started`;
  }
}
