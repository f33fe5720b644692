import type { PublicUser } from '@parley/protocol';
import { Avatar } from '../components/Avatar.tsx';
import { ROLE_LABELS } from '../lib/format.ts';

interface TopBarProps {
  me: PublicUser;
  page: 'chat' | 'admin' | 'connection-test' | 'settings';
  signingOut: boolean;
  onSignOut: () => void;
}

export function TopBar({ me, page, signingOut, onSignOut }: TopBarProps) {
  return (
    <header className="topbar">
      <span className="brand">
        <span className="brand-mark" aria-hidden="true" />
        Parley
      </span>
      <nav className="topnav" aria-label="Main">
        <a href="#/" aria-current={page === 'chat' ? 'page' : undefined}>
          Messages
        </a>
        {me.role === 'admin' && (
          <a href="#/admin" aria-current={page === 'admin' ? 'page' : undefined}>
            Admin
          </a>
        )}
        <a href="#/connection-test" aria-current={page === 'connection-test' ? 'page' : undefined}>
          <svg className="topnav-icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true" focusable="false">
            {/* Signal bars: "how is my connection". */}
            <path d="M4 20v-3M9 20v-7M14 20V9M19 20V4" />
          </svg>
          <span className="topnav-label">Test my connection</span>
        </a>
        <a href="#/settings" aria-current={page === 'settings' ? 'page' : undefined}>
          Settings
        </a>
      </nav>
      <div className="topbar-me">
        <Avatar name={me.name} seed={me.email} size="sm" />
        <span className="topbar-me-text">
          <span className="topbar-me-name">{me.name}</span>
          <span className="topbar-me-role">{ROLE_LABELS[me.role]}</span>
        </span>
      </div>
      <button type="button" className="button-ghost" onClick={onSignOut} disabled={signingOut}>
        Sign out
      </button>
    </header>
  );
}
