/**
 * The secret layer of bundle redaction. It runs in every mode, `--no-redact` included: private
 * keys, PKCS#12 files, passphrases, PINs, passwords, cookies, Authorization headers and tokens
 * never enter a bundle. The shapes every sink masks (cookies, Authorization and Cookie headers,
 * password values, tokens, DTLS secrets) come from @tandem/common's {@link Redactor}, with the
 * run-time secrets registered in this process; the rules here add what only a bundle meets:
 * key blocks cut off by a log's kept tail, PKCS#12 armour, and long base64 blobs.
 */
import { REDACTED, type RedactionHits, type Redactor } from '@tandem/common';

const PEM_SECRET_LABEL = '[A-Z0-9 #]*(?:PRIVATE KEY|PKCS ?#?12|PFX)[A-Z0-9 ]*';

interface Rule {
  name: string;
  re: RegExp;
  replace(match: string, ...groups: string[]): string;
}

/** Secret shapes, applied in this order before the common redactor. */
const RULES: Rule[] = [
  {
    // A whole block.
    name: 'private-key-block',
    re: new RegExp(`-----BEGIN (${PEM_SECRET_LABEL})-----(?:(?!-----BEGIN )[\\s\\S])*?-----END \\1-----`, 'g'),
    replace: () => '[private key removed]',
  },
  {
    // A block cut off (at the end of a text, or by a program that logged half of it): its
    // base64 body, line breaks and JSON-escaped ones included, as far as it goes — not the rest
    // of the file. Common's own mask (`BEGIN … KEY-----[REDACTED]`) is already safe.
    name: 'private-key-block',
    re: new RegExp(
      `-----BEGIN (?:${PEM_SECRET_LABEL})-----(?!\\[REDACTED\\])(?:(?:Proc-Type|DEK-Info):[^\\n\\\\]*|[A-Za-z0-9+/=\\s]|\\\\[rn])*`,
      'g',
    ),
    replace: () => '[private key removed]',
  },
  {
    // The tail of a block whose start fell before a log's kept tail: drop everything up to it.
    name: 'private-key-block',
    re: new RegExp(`^[\\s\\S]*?-----END ${PEM_SECRET_LABEL}-----`, 'g'),
    replace: () => '[private key removed]',
  },
  {
    // Bundle-only, on top of common's `password-value`: other software's text writes short
    // secret words as `PIN: 1234` too. The logger leaves that form alone so its own prose stays
    // readable; a bundle would rather mask an innocent word than keep a PIN.
    name: 'password-value',
    re: /((?:secret|token|(?<![A-Za-z0-9])(?:pass|pwd|pin|otp))\s*:\s*)(?!\[REDACTED\]|"\[REDACTED\]")("[^"\r\n]*"|'[^'\r\n]*'|[^\s,;&"'<]+)/gi,
    replace: (_m, head, value) =>
      `${head}${value.startsWith('"') || value.startsWith("'") ? `"${REDACTED}"` : REDACTED}`,
  },
  {
    // DER keys, PKCS#12 files and SAML assertions in base64 on one line; public certificates
    // are PEM (64-character lines) and handled by the PII layer.
    name: 'base64-blob',
    re: /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{200,}={0,2}/g,
    replace: (m) => `[base64 blob of ${m.length} characters removed]`,
  },
];

/** Removes every secret shape from `text`, adding to `hits` per rule. */
export function stripSecrets(text: string, redactor: Redactor, hits: RedactionHits): string {
  let out = text;
  for (const rule of RULES) {
    let n = 0;
    out = out.replace(rule.re, (match: string, ...rest: unknown[]) => {
      n++;
      // Groups first (unmatched ones undefined), then offset and input, which no rule reads.
      return rule.replace(match, ...(rest as string[]));
    });
    if (n > 0) hits.set(rule.name, (hits.get(rule.name) ?? 0) + n);
  }
  return redactor.string(out, hits);
}

/**
 * Why `data` cannot enter a bundle, or null. Bundles hold text only: a NUL byte or invalid
 * UTF-8 means binary, which covers PKCS#12 files, DER keys and core dumps, none of which can be
 * redacted line by line.
 */
export function refusal(data: Buffer): string | null {
  if (data.includes(0)) return 'binary content (bundles hold text only)';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return 'not UTF-8 text (bundles hold text only)';
  }
  return null;
}
