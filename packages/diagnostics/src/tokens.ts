/**
 * Stable pseudonyms for personal and site data inside one bundle: a keyed hash (HMAC-SHA-256
 * under a per-bundle random key) of the kind and the normalised value. The same value always
 * gives the same token within a bundle, so support can follow `host-…` across files, but two
 * bundles share nothing, and without the key a token cannot be checked against a guess.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { normalizeAddress } from '@tandem/common';
import { TOKEN_KINDS, type TokenKind } from '@tandem/contract';

export { TOKEN_KINDS, type TokenKind } from '@tandem/contract';

/** What support sees and the user can map back: value → token per kind. */
export interface RedactionMap {
  bundle_id: string;
  note: string;
  tokens: Partial<Record<TokenKind, Record<string, string>>>;
}

const TOKEN_RE = new RegExp(`^(?:${TOKEN_KINDS.join('|')})-[0-9a-f]{8,}$`);

/** True when `text` is already a token (so a later rule leaves it alone). */
export function isToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

/**
 * 8 hex digits (32 bits) keep tokens short enough to read in a log line; a bundle holds at most
 * a few thousand distinct values, and the rare clash within one kind gets the longer form.
 */
const SHORT = 8;
const LONG = 16;

function normalise(kind: TokenKind, value: string): string {
  const v = value.trim();
  if (kind === 'ip') return normalizeAddress(v)?.address ?? v.toLowerCase();
  if (kind === 'host' || kind === 'dom') return v.toLowerCase().replace(/\.$/, '');
  if (kind === 'serial' || kind === 'fp') return v.toLowerCase().replace(/[^0-9a-f]/g, '');
  return v.toLowerCase();
}

/** Issues tokens under one bundle's key and remembers them for the redaction map. */
export class Tokeniser {
  private readonly key: Buffer;
  private readonly byValue = new Map<string, string>();
  private readonly owners = new Map<string, string>();
  private readonly map: Partial<Record<TokenKind, Record<string, string>>> = {};

  /** `key` (32 random bytes by default) is never written anywhere: the map is the only way back. */
  constructor(key: Buffer = randomBytes(32)) {
    this.key = Buffer.from(key);
  }

  /** The token for `value` of this kind, the same for every call in this bundle. */
  token(kind: TokenKind, value: string): string {
    const norm = normalise(kind, value);
    const id = `${kind}\0${norm}`;
    const known = this.byValue.get(id);
    if (known !== undefined) return known;
    const digest = createHmac('sha256', this.key).update(id).digest('hex');
    let token = `${kind}-${digest.slice(0, SHORT)}`;
    if (this.owners.has(token)) token = `${kind}-${digest.slice(0, LONG)}`;
    this.owners.set(token, id);
    this.byValue.set(id, token);
    (this.map[kind] ??= {})[norm] = token;
    return token;
  }

  /** How many distinct values of each kind were masked. */
  counts(): Partial<Record<TokenKind, number>> {
    const out: Partial<Record<TokenKind, number>> = {};
    for (const kind of TOKEN_KINDS) {
      const n = Object.keys(this.map[kind] ?? {}).length;
      if (n > 0) out[kind] = n;
    }
    return out;
  }

  /** The value → token table for redaction-map.json. */
  redactionMap(bundleId: string): RedactionMap {
    return {
      bundle_id: bundleId,
      note: 'Kept by the user next to the bundle, never inside it: it turns the tokens in the bundle back into values.',
      tokens: structuredClone(this.map),
    };
  }
}
