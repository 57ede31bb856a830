/**
 * Secret redaction applied in front of every sink (logs, events, bundles, CLI JSON).
 *
 * Two layers: known secret *shapes* (cookies, PEM private keys, DTLS secrets, PINs in PKCS#11
 * URIs, session tokens) are masked by pattern, and values registered at run time with
 * {@link Redactor.addSecret} (the live session cookie, a key passphrase) are masked wherever
 * they appear, even when they have no recognisable shape.
 */

/** The replacement text for a redacted value. */
export const REDACTED = '[REDACTED]';

/** Field names whose values are always secret, compared case-insensitively without `-`/`_`. */
const SECRET_FIELDS = new Set([
  'cookie',
  'webvpn',
  'webvpncontext',
  'sessiontoken',
  'password',
  'passphrase',
  'passwd',
  'pin',
  'pinvalue',
  'secret',
  'mastersecret',
  'dtlsmastersecret',
  'privatekey',
  'key',
  'keypem',
  'signature',
  'token',
  'samltoken',
  'otp',
  'psk',
  'authorization',
  'setcookie',
]);

/**
 * Secret shapes, each with a stable name under which {@link Redactor.string} counts its hits.
 * The logger, events, CLI output and the diagnostic bundle all go through these (the bundle adds
 * only what logs never carry: cut-off key blocks, long base64 blobs). A rule leaves an already
 * masked value alone, so text that passes twice is counted once.
 */
const PATTERNS: Array<[name: string, RegExp, (match: string, ...groups: string[]) => string]> = [
  [
    'pem-private-key',
    // A whole block, or the body of one without its END (a message that was cut): never more,
    // since the diagnostic bundle runs this over whole files, not one message at a time.
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?!\[REDACTED\])(?:(?:(?!-----BEGIN )[\s\S])*?-----END [A-Z0-9 ]*PRIVATE KEY-----|(?:(?:Proc-Type|DEK-Info):[^\n\\]*|[A-Za-z0-9+/=\s]|\\[rn])*)/g,
    () => `-----BEGIN PRIVATE KEY-----${REDACTED}`,
  ],
  [
    'http-authorization',
    /\b((?:proxy-)?authorization["']?\s*:\s*"?)(?!\s*\[REDACTED\])[^\r\n"]+/gi,
    (_m, head) => `${head}${REDACTED}`,
  ],
  [
    'http-cookie',
    /\b((?:set-)?cookie["']?\s*:\s*"?)(?!\s*\[REDACTED\])[^\r\n"]+/gi,
    (_m, head) => `${head}${REDACTED}`,
  ],
  [
    'session-cookie',
    /\b(webvpn\w*|sdesktop|acsamlcap\w*)=(?!\[REDACTED\])[^;\s"'<&]+/gi,
    (_m, name) => `${name}=${REDACTED}`,
  ],
  [
    'dtls-secret',
    /(X-DTLS-(?:Master-Secret|Session-ID|App-ID)\s*:\s*)(?!\s*\[REDACTED\])[^\r\n]+/gi,
    (_m, head) => `${head}${REDACTED}`,
  ],
  ['pkcs11-pin', /(pin-value=)(?!\[REDACTED\])[^;&\s"']+/gi, (_m, head) => `${head}${REDACTED}`],
  [
    'session-token',
    /(<session-token>)(?!\[REDACTED\]<)[^<]*(<\/session-token>)/gi,
    (_m, a, b) => `${a}${REDACTED}${b}`,
  ],
  [
    'mca-signature',
    /(<client-cert-auth-signature[^>]*>)(?!\[REDACTED\]<)[^<]*(<\/client-cert-auth-signature>)/gi,
    (_m, a, b) => `${a}${REDACTED}${b}`,
  ],
  ['xml-password', /(<password>)(?!\[REDACTED\]<)[^<]*(<\/password>)/gi, (_m, a, b) => `${a}${REDACTED}${b}`],
  [
    // key=value, key: value and "key": "value" for secret-looking keys, also at the end of a
    // longer key (VPN_PASSWORD, keyPassphrase), quoted or not. Short or common words (pin, token,
    // secret) count only as `word=` or a quoted `"word":`, so prose such as "loose.pass: the
    // passphrase file…" stays readable. A PKCS#11 URI's `token=` (after `:` or `;`) is the token's
    // label, which support needs; its `pin-value` is masked above.
    'password-value',
    /((?:password|passwd|passphrase)["']?\s*[=:]\s*|(?:secret|(?<![:;])token|api[_-]?key|(?<![A-Za-z0-9])(?:pass|pwd|pin|otp))(?:["']\s*:|\s*=)\s*)(?!\[REDACTED\]|"\[REDACTED\]")("[^"\r\n]*"|'[^'\r\n]*'|[^\s,;&"'<]+)/gi,
    (_m, head, value) => `${head}${value!.startsWith('"') || value!.startsWith("'") ? `"${REDACTED}"` : REDACTED}`,
  ],
  ['jwt', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, () => REDACTED],
];

/** Hit counts per rule name, filled in by {@link Redactor.string} when a caller passes one. */
export type RedactionHits = Map<string, number>;

function count(hits: RedactionHits | undefined, name: string, n: number): void {
  if (hits && n > 0) hits.set(name, (hits.get(name) ?? 0) + n);
}

function normaliseField(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** True when a field of this name must never be shown. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(normaliseField(name));
}

/** Masks secrets in strings and structured values. */
export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a run-time secret; every later occurrence is masked. Short values are ignored. */
  addSecret(value: string | Buffer | undefined | null): void {
    if (value === undefined || value === null) return;
    const s = Buffer.isBuffer(value) ? value.toString('utf8') : value;
    // Very short strings would mask innocent text everywhere; real secrets are long.
    if (s.length >= 6) this.secrets.add(s);
  }

  /** Forgets a run-time secret (e.g. after logout). */
  removeSecret(value: string): void {
    this.secrets.delete(value);
  }

  /**
   * Masks every secret in a string. With `hits`, adds how many values each rule masked
   * (`registered-secret` for values given to {@link addSecret}): the diagnostic bundle reports them.
   */
  string(text: string, hits?: RedactionHits): string {
    let out = text;
    for (const secret of this.secrets) {
      if (!out.includes(secret)) continue;
      const parts = out.split(secret);
      count(hits, 'registered-secret', parts.length - 1);
      out = parts.join(REDACTED);
    }
    for (const [name, re, repl] of PATTERNS) {
      let n = 0;
      out = out.replace(re, (match: string, ...rest: unknown[]) => {
        n++;
        // Groups first (unmatched ones undefined), then offset and input, which no rule reads.
        return repl(match, ...(rest as string[]));
      });
      count(hits, name, n);
    }
    return out;
  }

  /** Deep-copies a JSON-like value with secret fields and secret substrings masked. */
  value(input: unknown, depth = 0): unknown {
    if (depth > 32) return '[…]';
    if (typeof input === 'string') return this.string(input);
    if (Buffer.isBuffer(input)) return `<${input.length} bytes>`;
    if (Array.isArray(input)) return input.map((v) => this.value(v, depth + 1));
    if (input instanceof Error) {
      return { name: input.name, message: this.string(input.message), code: (input as { code?: unknown }).code };
    }
    if (input && typeof input === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(input)) {
        out[k] = isSecretField(k) && v !== null && v !== undefined && v !== '' ? REDACTED : this.value(v, depth + 1);
      }
      return out;
    }
    return input;
  }
}

/** The process-wide redactor every built-in sink uses. */
export const redactor = new Redactor();
