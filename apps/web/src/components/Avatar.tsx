import type { CSSProperties } from 'react';
import { avatarHue, initials } from '../lib/format.ts';

interface AvatarProps {
  name: string;
  /** Seeds the colour; the email or id keeps two people with one name apart. */
  seed: string;
  size?: 'sm' | 'md' | 'lg' | 'xl';
  /** Draws a presence dot when given. */
  online?: boolean;
  /**
   * Gives the dot an accessible name ("Online"/"Offline"). Leave false inside buttons whose
   * accessible name must stay exactly the person's name.
   */
  announcePresence?: boolean;
}

/** Initials in a coloured circle. The initials are decorative: the name is always written nearby. */
export function Avatar({ name, seed, size = 'md', online, announcePresence = false }: AvatarProps) {
  const style = { '--avatar-hue': avatarHue(seed) } as CSSProperties;
  return (
    <span className={`avatar avatar-${size}`} style={style}>
      <span aria-hidden="true">{initials(name)}</span>
      {online !== undefined &&
        (announcePresence ? (
          <span className={online ? 'presence-dot is-online' : 'presence-dot'} role="img" aria-label={online ? 'Online' : 'Offline'} />
        ) : (
          <span className={online ? 'presence-dot is-online' : 'presence-dot'} aria-hidden="true" />
        ))}
    </span>
  );
}
