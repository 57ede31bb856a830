/**
 * Redaction of everything that enters a bundle, in two layers:
 *
 * 1. secrets (every mode): see secrets.ts — removed, never tokenised;
 * 2. personal and site data (mode `tokens`, the default): structural first — JSON fields, XML
 *    profile elements and `Key: value` lines whose name says what they hold — then the text
 *    safety net of pii.ts over the result.
 *
 * Every rule counts its hits; the counts and the number of distinct values per token kind go into
 * manifest.json, the value → token table into redaction-map.json, which stays with the user.
 */
import { isSecretField, REDACTED, redactor as processRedactor, type Redactor } from '@tandem/common';
import { fieldKind, PiiMasker, type KnownValues } from './pii.js';
import { stripSecrets } from './secrets.js';
import { Tokeniser, TOKEN_KINDS, type RedactionMap, type TokenKind } from './tokens.js';

/** `tokens`: personal and site data masked (default); `none`: only secrets removed (administrators). */
export type RedactionMode = 'tokens' | 'none';

/** Options of {@link BundleRedactor}. */
export interface RedactionOptions {
  /** Default `tokens`. */
  mode?: RedactionMode;
  /** The per-bundle key (32 bytes); random by default. Tests pass one to get fixed tokens. */
  key?: Buffer;
  /** Names to mask wherever they appear. More can be added with {@link BundleRedactor.register}. */
  known?: KnownValues;
  /** The redactor holding this process's run-time secrets; the process-wide one by default. */
  redactor?: Redactor;
}

/** What the manifest says about redaction. */
export interface RedactionReport {
  mode: RedactionMode;
  /** Secrets are removed in every mode. */
  secrets: 'removed';
  /** Hits per rule (secret rules, `field:<kind>` structural masks, net rules). */
  rules: Record<string, number>;
  /** Distinct values masked per token kind. */
  tokens: Partial<Record<TokenKind, number>>;
}

/** How the content of a file is read for structural redaction. */
export type ContentFormat = 'json' | 'jsonl' | 'xml' | 'text';

/** The format implied by a bundle path's extension. */
export function formatOf(path: string): ContentFormat {
  if (path.endsWith('.json')) return 'json';
  if (path.endsWith('.jsonl') || /\.log(\.\d+)?$/.test(path)) return 'jsonl';
  if (path.endsWith('.xml')) return 'xml';
  return 'text';
}

/** Words that make any field holding them secret: `lastCookie`, `key_password`, `sessionToken`. */
const SECRET_WORDS = new Set(['cookie', 'password', 'passphrase', 'passwd', 'secret', 'token', 'pin', 'otp', 'webvpn']);

/** True for a field whose value must never enter a bundle (common's list, or a secret word in its name). */
function secretField(name: string): boolean {
  let known = secretNames.get(name);
  if (known === undefined) {
    const words = name
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/);
    known = isSecretField(name) || words.some((w) => SECRET_WORDS.has(w));
    // Log records reuse a few dozen keys; the cap only guards against hostile input.
    if (secretNames.size < 10_000) secretNames.set(name, known);
  }
  return known;
}
const secretNames = new Map<string, boolean>();

const KV_LINE = /^([ \t]*)([A-Za-z][A-Za-z0-9 ._-]{0,40}?)([ \t]*[:=][ \t]*)(\S.*?)([ \t]*)$/gm;
const XML_ELEMENT = /<([A-Za-z][\w.-]*)((?:\s[^>]*)?)>([^<]+)<\/\1>/g;

/** The redaction of one bundle. */
export class BundleRedactor {
  /** The mode recorded in the manifest. */
  readonly mode: RedactionMode;
  private readonly hits = new Map<string, number>();
  private readonly tokens: Tokeniser;
  private readonly pii: PiiMasker;
  private readonly secrets: Redactor;

  constructor(options: RedactionOptions = {}) {
    this.mode = options.mode ?? 'tokens';
    this.tokens = new Tokeniser(options.key);
    this.pii = new PiiMasker(this.tokens, this.hits);
    this.secrets = options.redactor ?? processRedactor;
    if (options.known) this.pii.register(options.known);
  }

  /** Adds names to mask from now on (a collector that learns the gateway's host name, say). */
  register(values: KnownValues): void {
    this.pii.register(values);
  }

  /**
   * The token for a value a collector writes itself (`cn-…` for a subject it renders); the value
   * unchanged in mode `none`.
   */
  token(kind: TokenKind, value: string): string {
    return this.mode === 'none' ? value : this.tokens.token(kind, value);
  }

  /** Redacts free text (no structure assumed). */
  text(input: string): string {
    const clean = stripSecrets(input, this.secrets, this.hits);
    return this.mode === 'none' ? clean : this.pii.text(clean);
  }

  /** Redacts a JSON-like value: secret fields removed, known fields masked, every string netted. */
  value(input: unknown): unknown {
    return this.fields(input, (s) => this.text(s), 0);
  }

  /**
   * Redacts a file's content according to its format. Secret shapes go first over the whole
   * text, so a key block spread over lines is seen whole; text that does not parse as its format
   * is netted as text.
   */
  content(input: string, format: ContentFormat): string {
    const clean = stripSecrets(input, this.secrets, this.hits);
    const net = (s: string): string => (this.mode === 'none' ? s : this.pii.text(s));
    const parsed = (s: string): unknown => this.fields(JSON.parse(s), (x) => x, 0);
    if (format === 'json') {
      try {
        return net(`${JSON.stringify(parsed(clean), null, 2)}\n`);
      } catch {
        return net(this.keyValues(clean));
      }
    }
    if (format === 'jsonl') {
      const lines = clean.split('\n').map((line) => {
        if (!line.startsWith('{')) return this.keyValues(line);
        try {
          return JSON.stringify(parsed(line));
        } catch {
          return this.keyValues(line); // a cut line, another program's text
        }
      });
      return net(lines.join('\n'));
    }
    return net(format === 'xml' ? this.xml(clean) : this.keyValues(clean));
  }

  /** Structural pass over parsed JSON; `leaf` handles strings under fields with no known kind. */
  private fields(input: unknown, leaf: (s: string) => string, depth: number): unknown {
    if (depth > 64) return '[…]';
    if (typeof input === 'string') return leaf(input);
    if (Array.isArray(input)) return input.map((v) => this.fields(v, leaf, depth + 1));
    if (input === null || typeof input !== 'object') return input;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) {
      if (secretField(k) && v !== null && v !== undefined && v !== '') {
        if (v !== REDACTED) this.count('field:secret');
        out[k] = REDACTED;
        continue;
      }
      const kind = this.mode === 'none' ? null : fieldKind(k);
      if (kind && (typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))) {
        const mask = (x: string): string => this.pii.field(kind, stripSecrets(x, this.secrets, this.hits));
        out[k] = typeof v === 'string' ? mask(v) : (v as string[]).map(mask);
      } else out[k] = this.fields(v, leaf, depth + 1);
    }
    return out;
  }

  private keyValues(input: string): string {
    if (this.mode === 'none') return input;
    return input.replace(KV_LINE, (m, indent: string, key: string, sep: string, value: string, tail: string) => {
      const kind = fieldKind(key);
      return kind ? `${indent}${key}${sep}${this.pii.field(kind, value)}${tail}` : m;
    });
  }

  private xml(input: string): string {
    if (this.mode === 'none') return input;
    return input.replace(XML_ELEMENT, (m, name: string, attrs: string, value: string) => {
      const kind = fieldKind(name);
      return kind ? `<${name}${attrs}>${this.pii.field(kind, value)}</${name}>` : m;
    });
  }

  /**
   * Takes in what another process redacted for this bundle under the same key (the agent's
   * files): its hit counts join this report, and each value it masked gets its token here too,
   * recomputed under this bundle's key, so redaction-map.json covers every file of the archive.
   */
  merge(other: { rules: Record<string, number>; tokens: RedactionMap['tokens'] }): void {
    for (const [rule, n] of Object.entries(other.rules)) {
      if (Number.isSafeInteger(n) && n > 0) this.hits.set(rule, (this.hits.get(rule) ?? 0) + n);
    }
    if (this.mode === 'none') return;
    for (const kind of TOKEN_KINDS) {
      for (const value of Object.keys(other.tokens[kind] ?? {})) this.tokens.token(kind, value);
    }
  }

  private count(rule: string): void {
    this.hits.set(rule, (this.hits.get(rule) ?? 0) + 1);
  }

  /** The manifest's redaction section as it stands. */
  report(): RedactionReport {
    return {
      mode: this.mode,
      secrets: 'removed',
      rules: Object.fromEntries([...this.hits].sort(([a], [b]) => a.localeCompare(b))),
      tokens: this.mode === 'none' ? {} : this.tokens.counts(),
    };
  }

  /** The value → token table for redaction-map.json (empty in mode `none`). */
  redactionMap(bundleId: string): RedactionMap {
    return this.tokens.redactionMap(bundleId);
  }
}
