/**
 * The window's sandbox: the web preferences every tray window gets, the session's answers
 * (no permission is ever granted, a strict Content-Security-Policy on every response) and the
 * rules for every web contents (no navigation, no new windows, no webviews). The window shows
 * one local page and talks only through the preload's bridge; nothing else is allowed.
 */
import type { Session, WebContents, WebPreferences } from 'electron';

/**
 * The page's policy: its own scripts and styles only, no network, no frames, no forms. The
 * renderer should carry the same policy in a `<meta http-equiv>` too, because a page loaded
 * from `file:` does not pass through the session's response headers on every platform.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The web preferences of the tray window: isolated, sandboxed, no Node, web security on. */
export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

/** Denies every permission request and check, and puts the CSP on every response. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
}

/** Blocks navigation, redirects, new windows and webviews in `contents`. */
export function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}
