/**
 * The state icons, drawn inline (no image requests, nothing for the CSP to allow). Each has an
 * accessible name from the catalogue; colour is never the only cue, every state has its own glyph.
 */
import type { JSX } from 'preact';
import type { TrayIcon } from '../core/bridge.js';
import type { Translate } from './api.js';

const glyphs: Record<TrayIcon, JSX.Element> = {
  // A check mark: the tunnel is up.
  connected: <path d="M10 17l4.5 4.5L23 12" />,
  // Three dots: work in progress.
  connecting: (
    <g>
      <circle cx="10" cy="16" r="1.6" />
      <circle cx="16" cy="16" r="1.6" />
      <circle cx="22" cy="16" r="1.6" />
    </g>
  ),
  // A cross: failure.
  error: <path d="M11 11l10 10M21 11L11 21" />,
  // A small server: only the machine's management tunnel is up.
  management: <path d="M10 11h12v4H10zM10 17h12v4H10zM13 13h.01M13 19h.01" />,
  // A house: at home on a trusted network.
  trusted: <path d="M9 16l7-6 7 6M11 15v7h10v-7" />,
  // A horizontal bar: nothing running.
  disconnected: <path d="M10 16h12" />,
};

/** The icon for `icon`, named for assistive technology. */
export function StateIcon({ icon, t }: { icon: TrayIcon; t: Translate }) {
  return (
    <svg
      class={`state-icon icon-${icon}`}
      viewBox="0 0 32 32"
      width="40"
      height="40"
      role="img"
      aria-label={t(`icon.${icon}`)}
    >
      <circle class="disc" cx="16" cy="16" r="15" />
      <g class="glyph">{glyphs[icon]}</g>
    </svg>
  );
}
