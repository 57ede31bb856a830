/**
 * The per-gateway cookie jar of the XML auth phase. ocserv keeps a multi-round exchange alive
 * across TLS connections with `webvpncontext`, and the session cookie arrives as `webvpn`.
 */
import { redactor } from '@tandem/common';

/** Cookies by name for one gateway. */
export class CookieJar {
  private readonly jar = new Map<string, string>();

  /** Applies every `Set-Cookie` header of a response (expired or empty values delete). */
  absorb(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!/^[\w.-]{1,64}$/.test(name) || /[\s;,\\"]/.test(value) || value.length > 4096) continue;
      const expires = attrs.map((a) => a.trim()).find((a) => /^expires=/i.test(a));
      const expired = expires !== undefined && Date.parse(expires.slice(8)) < Date.now();
      if (value === '' || expired) {
        this.jar.delete(name);
      } else {
        this.jar.set(name, value);
        if (name.startsWith('webvpn')) redactor.addSecret(value);
      }
    }
  }

  /** A cookie's value. */
  get(name: string): string | undefined {
    return this.jar.get(name);
  }

  /** The `Cookie` header value, or null when empty. */
  header(): string | null {
    return this.jar.size ? [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') : null;
  }
}
