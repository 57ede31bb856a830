/**
 * README.txt: the first thing a person opening the archive reads — what is inside, how it was
 * redacted, and what that means for their privacy. Written from the finished manifest, so it
 * lists exactly what this bundle holds.
 */
import type { Manifest } from './manifest.js';
import { TOKEN_KINDS, type TokenKind } from './tokens.js';

const KIND_NAMES: Record<TokenKind, string> = {
  host: 'host names (this machine, gateways, hosts under your domains)',
  dom: 'domain names',
  user: 'user names',
  group: 'tunnel and user group names',
  mail: 'e-mail addresses',
  ip: 'public IP addresses',
  cn: 'names inside certificate subjects and issuers',
  serial: 'certificate serial numbers',
  fp: 'certificate thumbprints',
  cert: 'public certificates (PEM), replaced by a token of their SHA-256',
};

const AREAS: Record<string, string> = {
  agent: "the agent's logs, state, statistics and effective configuration",
  profiles: 'the VPN profiles and local policy, and how they were validated',
  certificates: 'which client certificates were considered and why, and the gateway chain (public certificates only)',
  network: 'interfaces, routes, DNS, firewall rules, trusted network detection and reachability checks',
  system: 'the operating system, processes, other VPN software and a system log slice',
};

/** The text of README.txt for a finished manifest (without README.txt itself). */
export function readmeText(m: Manifest): string {
  const top = new Map<string, number>();
  for (const f of m.files) {
    const area = f.path.includes('/') ? f.path.slice(0, f.path.indexOf('/')) : f.path;
    top.set(area, (top.get(area) ?? 0) + 1);
  }
  const contents = [...top].map(([area, n]) =>
    AREAS[area] ? `  ${area}/ (${n} file${n === 1 ? '' : 's'}): ${AREAS[area]}` : `  ${area}`,
  );
  const masked = TOKEN_KINDS.filter((k) => (m.redaction.tokens[k] ?? 0) > 0).map(
    (k) => `  ${k}-…  ${KIND_NAMES[k]} (${m.redaction.tokens[k]} distinct)`,
  );
  const redaction =
    m.redaction.mode === 'none'
      ? [
          'Redaction of personal data was turned OFF (--no-redact, administrators only): names, addresses',
          'and certificate details appear as they are. Secrets were still removed (see below).',
        ]
      : [
          'Personal and site data were replaced by tokens such as host-3f9a1c2b. A token is a keyed hash',
          'under a random key made for this bundle alone and then thrown away: the same value gives the',
          'same token everywhere in this bundle, so support can follow it across files, but nobody can',
          'turn a token back into the value or compare it with another bundle. The file',
          'redaction-map.json next to this archive on your computer (never inside it) lists which value',
          'each token stands for, if you want to answer a question about one.',
          '',
          'Masked in this bundle:',
          ...(masked.length > 0 ? masked : ['  (nothing needed masking)']),
          '',
          'Kept as they are: private, loopback, link-local and documentation addresses, ports, protocol',
          'and cipher names, error codes, times, versions, key usages and validity dates.',
        ];
  return [
    `Tandem diagnostic bundle ${m.bundle_id}`,
    '',
    `Created ${m.created_at} by Tandem ${m.tool_version} to help diagnose a VPN problem.`,
    'manifest.json lists every file with its size, SHA-256 and the collector that produced it;',
    'summary.txt is the first page to read. `tandem diag inspect FILE` checks the archive against',
    'its manifest.',
    '',
    'Contents',
    ...contents,
    '',
    'Redaction',
    ...redaction,
    '',
    'Never included, in any mode: private keys, PKCS#12 files, passphrases, PINs, passwords,',
    'one-time codes, session cookies, Authorization and Cookie headers, DTLS secrets and other',
    'tokens. Every text passes a filter that removes such values by their shape and counts what it',
    'removed (manifest.json, "redaction.rules"). Bundles hold text only.',
    '',
    'Privacy',
    'This bundle was written on your computer and sent nowhere. It records how the VPN behaved:',
    'connection times, gateways contacted (as tokens when redacted), network configuration and',
    'certificate checks, for the period the logs cover. Read it before you share it; share it only',
    'with the people helping you, and delete it when the problem is solved.',
    '',
  ].join('\n');
}
