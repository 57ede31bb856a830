/**
 * Command-line options of `tandem-lab-gateway`. Parsing is strict: an unknown flag, a missing
 * value or a malformed address is a usage error (exit 64) rather than a silently ignored
 * setting, because a lab gateway that quietly runs with a different policy makes tests lie.
 */
import { isIP } from 'node:net';
import type { ParseArgsConfig } from 'node:util';
import { ErrorCodes, TandemError, parsePrefix } from '@tandem/common';

/** Which certificate of an MCA pair supplies the session username (FTD "First/Second Cert"). */
export type UsernameSource = 'first' | 'second';

/** Everything the gateway is configured with. */
export interface GatewayOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  caFile: string;
  crlFile: string | null;
  mca: boolean;
  usernameFrom: UsernameSource;
  /** CN, OU, UID, EA, O, … or DN for the whole subject string. */
  usernameField: string;
  /** IPv4 pool, e.g. `10.232.100.0/24`; the first host address belongs to the gateway. */
  pool: string | null;
  group: string;
  dpd: number;
  keepalive: number;
  splitInclude: string[];
  dns: string[];
  defaultDomain: string | null;
  banner: string | null;
  /** Answer ICMP echo in-process instead of using a TUN device. */
  echo: boolean;
  /** Name of the TUN device the gateway creates (root + pool). */
  tunName: string;
  mtu: number;
  /** Offer DTLS (PSK-NEGOTIATE) on UDP at the listen address and port. */
  dtls: boolean;
  /** Seconds a challenge stays valid. */
  challengeTtl: number;
  /** Seconds a session cookie stays valid without a tunnel. */
  sessionTimeout: number;
  idleTimeout: number;
  /** User profile offered in the success document's manifest (`service-type="user"`). */
  profileFile: string | null;
  /** Management tunnel profile offered in the manifest (`service-type="vpn-mgmt"`). */
  mgmtProfileFile: string | null;
  /** URI advertised for the user profile (tests: a hostile name). */
  profileUri: string | null;
  /** SHA-1 advertised for the user profile instead of its real one (tests: a bad hash). */
  profileSha1: string | null;
}

/** Usage text printed by `--help`. */
export const USAGE = `Usage: tandem-lab-gateway --listen HOST:PORT --cert F --key F --ca F [options]

An AnyConnect-compatible lab gateway: certificate and multiple-certificate (MCA)
aggregate-auth, CSTP tunnels with DTLS, JSON events on stdout (one object per line).

  --listen HOST:PORT       address to listen on (port 0 = any free port)
  --cert F, --key F        gateway TLS certificate (PEM, may include chain) and key
  --ca F                   CA bundle trusted for client certificates (intermediates allowed)
  --crl F                  CRL file (PEM, may hold several CRLs)
  --mca                    require multiple-certificate authentication
  --username-from first|second   certificate that names the user (default: second with --mca)
  --username-field CN|OU|UID|EA|O|DN   subject field used as the username (default CN)
  --group NAME             tunnel-group name (default LAB)
  --pool CIDR              IPv4 address pool; first host = gateway tunnel address
  --echo                   answer ICMP echo in-process (no TUN device)
  --tun NAME               TUN device name (default tlg0)
  --dpd S, --keepalive S   timers sent to the client (default 30, 20)
  --split-include CIDR     route into the tunnel (repeatable)
  --dns IP                 DNS server (repeatable)
  --default-domain D       search domain
  --banner TEXT            login banner
  --mtu N                  tunnel MTU (default 1400)
  --no-dtls                no DTLS data channel (by default UDP on the --listen port
                           serves clients that offer PSK-NEGOTIATE)
  --profile F              offer this user profile in the success document's manifest
  --mgmt-profile F         offer this management tunnel profile (service-type vpn-mgmt)
  --profile-uri URI        advertise the user profile under this URI (tests)
  --profile-sha1 HEX       advertise this SHA-1 for the user profile instead of its own (tests)
  --help, -h               show this text
`;

function usage(message: string): TandemError {
  return new TandemError(ErrorCodes.USAGE, message);
}

/** Parses `a.b.c.d/len` into network address and prefix length, or throws a usage error. */
export function parseCidr(text: string): { network: string; prefix: number } {
  // Only the `/len` form: a dotted mask or a bare address here is more likely a typo than intent.
  const p = /^[^/]+\/\d{1,2}$/.test(text) ? parsePrefix(text) : null;
  if (!p || p.family !== 4) throw usage(`not an IPv4 CIDR: ${text}`);
  return { network: p.address, prefix: p.prefix };
}

function positiveInt(name: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max)
    throw usage(`${name} needs an integer 0..${max}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * The options, declared as node:util parseArgs takes them: {@link USAGE} describes each (the
 * drift test in apps/cli/test holds them together) and the man page is generated from both.
 * Parsing below stays by hand so each value is checked where it is read.
 */
export const OPTIONS = {
  listen: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  crl: { type: 'string' },
  mca: { type: 'boolean' },
  'username-from': { type: 'string' },
  'username-field': { type: 'string' },
  group: { type: 'string' },
  pool: { type: 'string' },
  echo: { type: 'boolean' },
  tun: { type: 'string' },
  dpd: { type: 'string' },
  keepalive: { type: 'string' },
  'split-include': { type: 'string', multiple: true },
  dns: { type: 'string', multiple: true },
  'default-domain': { type: 'string' },
  banner: { type: 'string' },
  mtu: { type: 'string' },
  'no-dtls': { type: 'boolean' },
  profile: { type: 'string' },
  'mgmt-profile': { type: 'string' },
  'profile-uri': { type: 'string' },
  'profile-sha1': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const VALUE_FLAGS = new Set(
  Object.entries(OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .map(([name]) => `--${name}`),
);

const FIELDS = new Set(['CN', 'OU', 'O', 'UID', 'EA', 'E', 'DN', 'L', 'ST', 'SP', 'C', 'SN', 'GN', 'DC', 'T', 'I']);

/** Parses argv (without node and script). Returns null when `--help` was asked for. */
export function parseOptions(argv: readonly string[]): GatewayOptions | null {
  const o: Partial<GatewayOptions> & { splitInclude: string[]; dns: string[] } = { splitInclude: [], dns: [] };
  let usernameFrom: UsernameSource | null = null;
  let listen: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--help' || flag === '-h') return null;
    if (flag === '--mca') {
      o.mca = true;
      continue;
    }
    if (flag === '--echo') {
      o.echo = true;
      continue;
    }
    if (flag === '--no-dtls') {
      o.dtls = false;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw usage(`unknown option ${flag}`);
    const value = argv[i + 1];
    if (value === undefined) throw usage(`${flag} needs a value`);
    i++;
    switch (flag) {
      case '--listen':
        listen = value;
        break;
      case '--cert':
        o.certFile = value;
        break;
      case '--key':
        o.keyFile = value;
        break;
      case '--ca':
        o.caFile = value;
        break;
      case '--crl':
        o.crlFile = value;
        break;
      case '--username-from':
        if (value !== 'first' && value !== 'second') throw usage('--username-from is first or second');
        usernameFrom = value;
        break;
      case '--username-field':
        if (!FIELDS.has(value.toUpperCase()))
          throw usage(`--username-field: unknown field ${value} (one of ${[...FIELDS].join(', ')})`);
        o.usernameField = value.toUpperCase();
        break;
      case '--pool':
        parseCidr(value);
        o.pool = value;
        break;
      case '--group':
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) throw usage('--group: letters, digits, _ . - only');
        o.group = value;
        break;
      case '--dpd':
        o.dpd = positiveInt(flag, value, 86400);
        break;
      case '--keepalive':
        o.keepalive = positiveInt(flag, value, 86400);
        break;
      case '--mtu':
        o.mtu = positiveInt(flag, value, 9000);
        break;
      case '--split-include':
        parseCidr(value);
        o.splitInclude.push(value);
        break;
      case '--dns':
        if (isIP(value) !== 4) throw usage(`--dns needs an IPv4 address, got ${value}`);
        o.dns.push(value);
        break;
      case '--default-domain':
        o.defaultDomain = value;
        break;
      case '--banner':
        o.banner = value.replace(/[\r\n]+/g, ' ');
        break;
      case '--profile':
        o.profileFile = value;
        break;
      case '--mgmt-profile':
        o.mgmtProfileFile = value;
        break;
      case '--profile-uri':
        if (!/^[\x21-\x7e]{1,1024}$/.test(value)) throw usage('--profile-uri: printable ASCII without spaces');
        o.profileUri = value;
        break;
      case '--profile-sha1':
        if (!/^[0-9a-fA-F]{40}$/.test(value)) throw usage('--profile-sha1 needs 40 hex digits');
        o.profileSha1 = value;
        break;
      case '--tun':
        if (!/^[a-z0-9-]{1,15}$/.test(value)) throw usage('--tun: up to 15 of a-z 0-9 -');
        o.tunName = value;
        break;
      default:
        throw usage(`unknown option ${flag}`);
    }
  }
  if (!listen) throw usage('--listen HOST:PORT is required');
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m || isIP((m[1] ?? '').replace(/^\[|\]$/g, '')) === 0) throw usage(`--listen needs IP:PORT, got ${listen}`);
  for (const need of ['certFile', 'keyFile', 'caFile'] as const) {
    if (!o[need]) throw usage(`--${need.replace('File', '')} is required`);
  }
  return {
    host: (m[1] ?? '').replace(/^\[|\]$/g, ''),
    port: positiveInt('--listen port', m[2] ?? '', 65535),
    certFile: o.certFile as string,
    keyFile: o.keyFile as string,
    caFile: o.caFile as string,
    crlFile: o.crlFile ?? null,
    mca: o.mca ?? false,
    usernameFrom: usernameFrom ?? (o.mca ? 'second' : 'first'),
    usernameField: o.usernameField ?? 'CN',
    pool: o.pool ?? null,
    group: o.group ?? 'LAB',
    dpd: o.dpd ?? 30,
    keepalive: o.keepalive ?? 20,
    splitInclude: o.splitInclude,
    dns: o.dns,
    defaultDomain: o.defaultDomain ?? null,
    banner: o.banner ?? null,
    echo: o.echo ?? false,
    tunName: o.tunName ?? 'tlg0',
    mtu: o.mtu ?? 1400,
    dtls: o.dtls ?? true,
    challengeTtl: 120,
    sessionTimeout: 3600,
    idleTimeout: 1800,
    profileFile: o.profileFile ?? null,
    mgmtProfileFile: o.mgmtProfileFile ?? null,
    profileUri: o.profileUri ?? null,
    profileSha1: o.profileSha1 ?? null,
  };
}
