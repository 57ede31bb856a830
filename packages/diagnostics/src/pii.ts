/**
 * The personal-data layer of bundle redaction (mode `tokens`): values that identify a person, a
 * machine or a site are replaced by {@link Tokeniser} tokens. Two passes: structural (a field
 * whose name says what it holds is masked as that kind, whatever its value looks like), then a
 * safety net over all text (names of the user, host, groups and gateways the caller registered,
 * host names under the registered domains, e-mail addresses, public IP addresses, the attribute
 * values of distinguished names, public certificates in PEM).
 */
import { createHash } from 'node:crypto';
import { normalizeAddress, parseIpv4, parseIpv6, type RedactionHits } from '@tandem/common';
import { isToken, type Tokeniser, type TokenKind } from './tokens.js';

/**
 * Field names (lower case, without `-`, `_`, spaces) and what their values are. Shared by JSON
 * keys, XML element names (profiles) and `Key: value` lines (listings, stats).
 */
const FIELD_KINDS: Record<string, TokenKind | 'dn' | 'address'> = {};
const fields = (kind: TokenKind | 'dn' | 'address', names: string): void => {
  for (const n of names.split(' ')) FIELD_KINDS[n] = kind;
};
fields('user', 'user username login account owner defaultuser principal upn');
fields('host', 'host hostname hostaddress gateway gatewayhost server servername sni fqdn computername machinename');
fields('address', 'ip address addr peer peeraddress clientaddress serveraddress remoteaddress localaddress');
fields('address', 'trusteddnsservers dnsservers nameserver nameservers');
fields('group', 'group groupname tunnelgroup usergroup groupalias');
fields('dom', 'domain domains searchdomain searchdomains dnsdomain defaultdomain trusteddnsdomains');
fields('dn', 'subject issuer subjectdn issuerdn dn');
fields('serial', 'serial serialnumber');
fields('fp', 'sha1 sha256 thumbprint fingerprint');
fields('mail', 'email mail emailaddress');

/** What a field of this name holds, or null when its name says nothing. */
export function fieldKind(name: string): TokenKind | 'dn' | 'address' | null {
  return FIELD_KINDS[name.toLowerCase().replace(/[-_\s]/g, '')] ?? null;
}

function ipv4Public(text: string): boolean {
  const v = parseIpv4(text);
  if (v === null) return false;
  const a = v >>> 24;
  const b = (v >>> 16) & 0xff;
  const c = (v >>> 8) & 0xff;
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false; // this net, private, loopback, multicast, reserved
  if (a === 100 && b >= 64 && b < 128) return false; // CGNAT 100.64/10
  if (a === 169 && b === 254) return false; // link-local
  if (a === 172 && b >= 16 && b < 32) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF protocol assignments, TEST-NET-1
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if (a === 198 && b === 51 && c === 100) return false; // TEST-NET-2
  if (a === 203 && b === 0 && c === 113) return false; // TEST-NET-3
  return true;
}

function ipv6Public(text: string): boolean {
  const bytes = parseIpv6(text);
  if (bytes === null) return false;
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = bytes;
  if ((b0 & 0xe0) !== 0x20) return false; // only global unicast 2000::/3; ULA, link-local, loopback, multicast stay
  if (b0 === 0x20 && b1 === 0x01 && b2 === 0x0d && b3 === 0xb8) return false; // documentation 2001:db8::/32
  return true;
}

/** True for an address that points at a site or a person: global unicast, not documentation. */
export function isPublicAddress(text: string): boolean {
  const n = normalizeAddress(text);
  if (n === null) return false;
  return n.family === 4 ? ipv4Public(n.address) : ipv6Public(n.address);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Names of the caller's world, registered before text is redacted. */
export interface KnownValues {
  /** This machine's host name(s). */
  hosts?: readonly string[];
  /** Local and VPN user names. */
  users?: readonly string[];
  /** Tunnel groups / user groups from profiles and the gateway. */
  groups?: readonly string[];
  /** Domains whose every host name is masked (search domains, TND domains, the gateways'). */
  domains?: readonly string[];
}

const DN_ATTR =
  /\b(CN|OU|O|L|ST|UID|DC|STREET|emailAddress)(\s*=\s*)((?:\\.|[^,+/;\r\n"\\<>])+?)(?=\s*(?:[,+/;\r\n"<>]|$))/g;
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b/g;
const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)/g;
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g;
const CERT_PEM =
  /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([\s\S]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g;

/** The PII pass of one bundle: tokens under its key, the registered names, hit counts. */
export class PiiMasker {
  private known: Array<[TokenKind, string]> = [];
  private domains: string[] = [];
  private knownRe: RegExp | null = null;
  private domainRe: RegExp | null = null;

  constructor(
    private readonly tokens: Tokeniser,
    private readonly hits: RedactionHits,
  ) {}

  /** Adds names to mask wherever they appear (longest first, on word boundaries, any case). */
  register(values: KnownValues): void {
    const add = (kind: TokenKind, list: readonly string[] | undefined): void => {
      for (const v of list ?? []) if (v.trim().length >= 2) this.known.push([kind, v.trim()]);
    };
    add('host', values.hosts);
    add('user', values.users);
    add('group', values.groups);
    for (const d of values.domains ?? []) {
      const clean = d
        .trim()
        .replace(/^\*?\./, '')
        .replace(/\.$/, '');
      if (clean.includes('.')) this.domains.push(clean);
    }
    this.known.sort((a, b) => b[1].length - a[1].length);
    this.knownRe = this.known.length
      ? new RegExp(`(?<![\\w.-])(?:${this.known.map(([, v]) => escape(v)).join('|')})(?![\\w-])`, 'gi')
      : null;
    this.domainRe = this.domains.length
      ? new RegExp(`(?<![\\w.-])((?:[a-z0-9-]+\\.)*)(${this.domains.map(escape).join('|')})(?![\\w-])`, 'gi')
      : null;
  }

  private count(rule: string): void {
    this.hits.set(rule, (this.hits.get(rule) ?? 0) + 1);
  }

  private mask(rule: string, kind: TokenKind, value: string): string {
    if (isToken(value)) return value;
    this.count(rule);
    return this.tokens.token(kind, value);
  }

  /** A distinguished name with each attribute value masked (a value without `=` as a whole). */
  dn(value: string, rule = 'field:dn'): string {
    if (!value.includes('=')) return this.mask(rule, 'cn', value);
    return value.replace(
      DN_ATTR,
      (_m, attr: string, eq: string, v: string) => `${attr}${eq}${this.mask(rule, 'cn', v)}`,
    );
  }

  /** One address: public ones masked, private, loopback and documentation ones kept. */
  address(value: string, rule = 'field:ip'): string {
    return isPublicAddress(value) ? this.mask(rule, 'ip', value) : value;
  }

  /** A value of a field whose name told its kind; lists (comma or space separated) item by item. */
  field(kind: TokenKind | 'dn' | 'address', value: string): string {
    if (value === '' || isToken(value)) return value;
    if (kind === 'dn') return this.dn(value);
    if (kind === 'address' || kind === 'dom' || kind === 'host') {
      return value.replace(/[^\s,;]+/g, (item) => {
        const bare = item.replace(/^\[|\]$/g, '');
        if (normalizeAddress(bare)) return this.address(bare, 'field:ip');
        if (kind === 'address') return this.text(item);
        if (item.toLowerCase() === 'localhost') return item;
        return this.mask(`field:${kind}`, kind, item);
      });
    }
    return this.mask(`field:${kind}`, kind, value);
  }

  /** The safety net over free text. */
  text(input: string): string {
    let out = input.replace(CERT_PEM, (_m, body: string) => {
      const der = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
      const id = this.mask('pem-certificate', 'cert', createHash('sha256').update(der).digest('hex'));
      return `[certificate ${id} omitted: its names would show through base64]`;
    });
    out = out.replace(DN_ATTR, (_m, attr: string, eq: string, v: string) => `${attr}${eq}${this.mask('dn', 'cn', v)}`);
    out = out.replace(EMAIL, (m) => this.mask('email', 'mail', m));
    if (this.knownRe) {
      const byValue = new Map(this.known.map(([k, v]) => [v.toLowerCase(), k]));
      out = out.replace(this.knownRe, (m) => this.mask('known-name', byValue.get(m.toLowerCase()) ?? 'host', m));
    }
    if (this.domainRe) {
      out = out.replace(this.domainRe, (m, sub: string) => this.mask('domain-name', sub ? 'host' : 'dom', m));
    }
    out = out.replace(IPV4, (m) => (isPublicAddress(m) ? this.mask('ipv4', 'ip', m) : m));
    out = out.replace(IPV6, (m) => (isPublicAddress(m) ? this.mask('ipv6', 'ip', m) : m));
    return out;
  }
}
