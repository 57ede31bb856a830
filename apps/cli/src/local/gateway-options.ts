/**
 * Options shared by the commands that talk to a gateway in the caller's own process
 * (`tandem auth`, `tandem connect --foreground`): certificates from files or stores, trust
 * (CA file, pins, strict mode), `--resolve`, the tunnel group, the TLS key-exchange groups.
 * Turns them into AuthOptions.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { AuthOptions, TlsClientCredentials } from '@tandem/anyconnect';
import { pemSigningIdentity, type SigningIdentity } from '@tandem/certs/signer';
import { ConnectionCache, describeGatewayUrl, unsupportedTlsGroups } from '@tandem/anyconnect';
import type { SelectionCandidate } from '@tandem/certs';
import { redactor } from '@tandem/common';
import type { ClientInitialization, ClientProfile } from '@tandem/profile';
import type { OptionSpec, ParsedArgs } from '../args.js';
import { UsageError } from '../io.js';
import { STORE_OPTIONS, STORE_USAGE } from './store-options.js';

/** parseArgs declarations of the gateway options. */
export const GATEWAY_OPTIONS: OptionSpec = {
  ...STORE_OPTIONS,
  profile: { type: 'string' },
  'machine-cert': { type: 'string' },
  'machine-key': { type: 'string' },
  'user-cert': { type: 'string' },
  'user-key': { type: 'string' },
  mca: { type: 'boolean' },
  cafile: { type: 'string' },
  servercert: { type: 'string', multiple: true },
  resolve: { type: 'string' },
  authgroup: { type: 'string' },
  strict: { type: 'boolean' },
  timeout: { type: 'string' },
  'no-http-keepalive': { type: 'boolean' },
  'tls-groups': { type: 'string' },
};

/** Usage lines of the gateway options. */
export const GATEWAY_USAGE = `  --machine-cert F --machine-key F  Certificate presented in the TLS handshake (PEM; chain allowed)
  --user-cert F --user-key F        Second certificate for Multiple Certificate Authentication
  --profile FILE             Pick certificates from the stores with this profile's rules
  --mca                      With --profile/stores: also pick a user-store certificate for MCA
  --cafile F                 CA bundle the gateway must chain to (default: system roots)
  --servercert pin-sha256:B64  Accept this server key (repeatable); never replaces --strict
  --resolve HOST:IP          Connect to IP while validating the certificate for HOST
  --authgroup G              Tunnel group to select when the gateway offers a list
  --strict                   Strict server trust (machine tunnel): --cafile required, no overrides
  --timeout S                Per-request deadline in seconds (default 30)
  --no-http-keepalive        A new TLS connection per request (for gateways that forget the
                             client certificate on a re-used connection, as openconnect's)
  --tls-groups LIST          TLS key-exchange groups to offer, in order (e.g. X25519:P-256 for an
                             old gateway; default: OpenSSL's, led by post-quantum X25519MLKEM768)
${STORE_USAGE}`;

function str(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function platform(): 'linux' | 'win32' | 'darwin' {
  return process.platform === 'win32' || process.platform === 'darwin' ? process.platform : 'linux';
}

async function pick(
  candidates: SelectionCandidate[],
  init: ClientInitialization,
  tunnel: 'user' | 'machine',
  store: 'machine' | 'user' | null,
): Promise<SelectionCandidate> {
  const pool = store ? candidates.filter((c) => c.store === store) : candidates;
  const { selectCertificate } = await import('@tandem/certs');
  const result = selectCertificate({
    candidates: pool,
    profileInit: init,
    tunnel,
    platform: platform(),
    now: new Date(),
  });
  if (!result.selected) {
    const why =
      result.candidates.map((c) => `${c.subject}: ${c.reasons.join('; ')}`).join(' | ') ||
      'no certificates in the store';
    throw new UsageError(`no ${tunnel}-tunnel certificate matches (${why}); see "tandem certs select"`);
  }
  return result.selected;
}

/** Parsed gateway options: what to pass to `authenticate()` plus presentation flags. */
export interface GatewaySetup {
  auth: AuthOptions;
  profile: ClientProfile | null;
  close(): Promise<void>;
}

/** Builds AuthOptions for `url` from parsed command options. */
export async function gatewaySetup(
  url: string,
  values: ParsedArgs['values'],
  env: NodeJS.ProcessEnv = process.env,
): Promise<GatewaySetup> {
  const gw = (() => {
    try {
      return describeGatewayUrl(url);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
  let address: string | undefined;
  const resolve = str(values, 'resolve');
  if (resolve) {
    const i = resolve.lastIndexOf(':');
    const host = resolve.slice(0, i);
    address = resolve.slice(i + 1).replace(/^\[|\]$/g, '');
    if (i <= 0 || !isIP(address)) throw new UsageError('--resolve takes HOST:IP');
    if (host.toLowerCase() !== gw.host.toLowerCase())
      throw new UsageError(`--resolve host ${host} is not the URL host ${gw.host}`);
  }
  const timeout = str(values, 'timeout');
  if (timeout !== undefined && !/^\d{1,4}$/.test(timeout)) throw new UsageError('--timeout takes whole seconds');
  const pins = (values['servercert'] as string[] | undefined) ?? [];
  for (const p of pins)
    if (!/^pin-sha256:[A-Za-z0-9+/]{43}=$/.test(p))
      throw new UsageError(`--servercert must be pin-sha256:<base64 of 32 bytes> (got "${p}")`);
  const tlsGroups = str(values, 'tls-groups')?.split(/[:,]/);
  const badGroups = unsupportedTlsGroups(tlsGroups ?? []);
  if (badGroups.length)
    throw new UsageError(
      `--tls-groups: unknown TLS group ${badGroups.map((g) => `"${g}"`).join(', ')} (OpenSSL names, e.g. X25519:P-256)`,
    );
  const cafile = str(values, 'cafile');
  const strict = values['strict'] === true;
  if (strict && !cafile) throw new UsageError('--strict needs --cafile');

  let profile: ClientProfile | null = null;
  const profilePath = str(values, 'profile');
  if (profilePath) {
    const { loadProfileFile } = await import('@tandem/profile');
    const doc = (await loadProfileFile(profilePath)).document;
    if (doc.kind !== 'vpn') throw new UsageError(`${profilePath} is not a VPN profile`);
    profile = doc;
  }

  let machine: TlsClientCredentials | null = null;
  let user: SigningIdentity | null = null;
  const mc = str(values, 'machine-cert');
  const mk = str(values, 'machine-key');
  if (!!mc !== !!mk) throw new UsageError('--machine-cert and --machine-key go together');
  if (mc && mk) machine = { cert: readFile(mc, 'machine certificate'), key: readFile(mk, 'machine key') };
  const uc = str(values, 'user-cert');
  const uk = str(values, 'user-key');
  if (!!uc !== !!uk) throw new UsageError('--user-cert and --user-key go together');
  if (uc && uk) {
    try {
      user = pemSigningIdentity(readFile(uc, 'user certificate'), readFile(uk, 'user key'));
    } catch (err) {
      throw new UsageError(`--user-cert/--user-key: ${(err as Error).message}`);
    }
  }

  let close = async (): Promise<void> => {};
  const useStores =
    !machine &&
    (profile !== null || str(values, 'machine-store') || str(values, 'user-store') || str(values, 'pkcs11-module'));
  if (useStores || (values['mca'] === true && !user)) {
    // Stores pull in X.509, PKCS#12 and PKCS#11 code: loaded only when certificates come from them.
    const { collect, storesFromOptions } = await import('./certs-options.js');
    const { defaultClientInitialization } = await import('@tandem/profile');
    const chosen = storesFromOptions(values, env);
    close = chosen.close;
    const { candidates } = await collect(chosen);
    const init = profile?.clientInitialization ?? defaultClientInitialization();
    const wantMca = values['mca'] === true && !user;
    if (!machine) {
      const tunnel = profile?.managementTunnel || wantMca || user ? 'machine' : 'user';
      const winner = await pick(candidates, init, tunnel, null);
      machine = (await winner.entry!.tlsCredentials()) as TlsClientCredentials;
    }
    if (wantMca) {
      const { candidateIdentity } = await import('@tandem/certs');
      user = await candidateIdentity(await pick(candidates, init, 'user', 'user'));
    }
  }
  if (machine && 'privateKeyIdentifier' in machine) redactor.addSecret(machine.privateKeyIdentifier);
  const auth: AuthOptions = {
    url: gw.url,
    ...(address ? { address } : {}),
    ...(cafile ? { ca: readFile(cafile, 'CA file') } : {}),
    trust: { pins, strict: strict || profile?.managementTunnel === true },
    machine,
    user,
    ...(str(values, 'authgroup') ? { authGroup: str(values, 'authgroup') } : {}),
    ...(timeout ? { requestTimeoutMs: Number(timeout) * 1000 } : {}),
    ...(values['no-http-keepalive'] === true ? { connections: new ConnectionCache(false) } : {}),
    ...(tlsGroups ? { tlsGroups } : {}),
    allowedHosts:
      profile?.serverList.flatMap((h) =>
        [h.hostAddress, ...h.backupServers, ...h.loadBalancingServers].map((a) => a.replace(/[:/].*$/, '')),
      ) ?? [],
  };
  return { auth, profile, close };
}
