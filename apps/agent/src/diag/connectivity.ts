/**
 * `network/connectivity.txt`: can this machine reach each gateway? Per host: DNS resolution, a
 * TCP connection, a TLS handshake (protocol, cipher, the peer's chain and whether it verifies
 * against the agent's trust) and one `HEAD /` for the server's Date header, from which the clock
 * skew follows — a skewed clock breaks certificate checks and one-time passwords. Nothing is
 * authenticated and nothing but that HEAD is sent: no cookie, no credential, no client certificate.
 */
import { X509Certificate } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Collector } from '@tandem/diagnostics';

/** A gateway to check, as a profile names it. */
export interface GatewayTarget {
  name: string;
  /** A host, `host:port`, `[v6]:port` or an https URL; a path (`/group`) is ignored. */
  address: string;
}

/** Each step's own time limit. */
export interface StepTimeouts {
  dnsMs: number;
  tcpMs: number;
  tlsMs: number;
  httpMs: number;
}

/** DNS 3 s, TCP 3 s, TLS 4 s, HTTP 4 s. */
export const DEFAULT_STEP_TIMEOUTS: Readonly<StepTimeouts> = { dnsMs: 3000, tcpMs: 3000, tlsMs: 4000, httpMs: 4000 };
/** Hosts checked at once. */
export const MAX_CONCURRENT_HOSTS = 4;

/** What to check and how. */
export interface ConnectivityInput {
  hosts: readonly GatewayTarget[];
  /** The agent's `--resolve` overrides: lower-case host → IP. */
  resolve?: ReadonlyMap<string, string>;
  /** Trusted CAs in PEM; absent or null: the system roots. */
  ca?: readonly string[] | null;
  timeouts?: Partial<StepTimeouts>;
  signal?: AbortSignal;
}

/** One step's outcome; `error` is `CODE: message`. */
export interface Step {
  ok: boolean;
  ms: number;
  error?: string;
}

/** A certificate of the peer's chain, leaf first. */
export interface CertSummary {
  subject: string;
  issuer: string;
  notAfter: string;
  sha256: string;
}

/** The checks of one host; a step after a failed one is absent. */
export interface HostCheck {
  name: string;
  address: string;
  host: string;
  port: number;
  dns: Step & { addresses: string[]; source: 'dns' | 'resolve' | 'literal' };
  tcp?: Step & { address: string };
  tls?: Step & {
    protocol?: string;
    cipher?: string;
    /** The chain verifies for this host against {@link trust}. */
    authorized?: boolean;
    authorizationError?: string;
    trust: 'system roots' | 'configured CA';
    chain: CertSummary[];
  };
  http?: Step & { status?: string; date?: string };
  /** Local clock minus the gateway's, in seconds (positive: we are ahead); null when unknown. */
  skewSeconds: number | null;
}

class StepError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? `${e.code}: ${message}` : message;
}

/** Splits an address into host and port (443 unless given); null when it cannot be parsed. */
export function parseAddress(address: string): { host: string; port: number } | null {
  const text = address.trim();
  let host: string;
  let port = 443;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    try {
      const url = new URL(text);
      host = url.hostname.replace(/^\[|\]$/g, '');
      if (url.port) port = Number(url.port);
    } catch {
      return null;
    }
  } else {
    const bare = text.split('/')[0] ?? '';
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(bare);
    const hp = /^([^:]+):(\d+)$/.exec(bare);
    if (v6) {
      host = v6[1] ?? '';
      if (v6[2]) port = Number(v6[2]);
    } else if (hp) {
      host = hp[1] ?? '';
      port = Number(hp[2]);
    } else host = bare;
  }
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host, port };
}

/** Races `work` against a step's timeout and the caller's signal; `cleanup` runs when it loses. */
async function within<T>(
  work: Promise<T>,
  ms: number,
  signal: AbortSignal | undefined,
  cleanup: () => void = () => undefined,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepError('ETIMEDOUT', `no answer within ${ms} ms`)), ms);
    onAbort = () => reject(new StepError('EABORTED', 'stopped: the collector ran out of time'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stop]);
  } catch (err) {
    cleanup();
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value?: T; ms: number; error?: string }> {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ms: Math.round(performance.now() - t0), error: describe(err) };
  }
}

function openTcp(address: string, port: number, t: StepTimeouts, signal?: AbortSignal): Promise<Socket> {
  const socket = tcpConnect({ host: address, port });
  socket.on('error', () => undefined); // a late error after the step is over must not crash the agent
  const ready = new Promise<Socket>((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
  return within(ready, t.tcpMs, signal, () => socket.destroy());
}

function chainOf(socket: TLSSocket): CertSummary[] {
  const out: CertSummary[] = [];
  const seen = new Set<string>();
  let cert = socket.getPeerCertificate(true);
  while (cert && cert.raw && out.length < 10) {
    const x = new X509Certificate(cert.raw);
    if (seen.has(x.fingerprint256)) break; // a self-signed root points at itself
    seen.add(x.fingerprint256);
    out.push({
      subject: x.subject.split('\n').join(', '),
      issuer: x.issuer.split('\n').join(', '),
      notAfter: new Date(x.validTo).toISOString(),
      sha256: x.fingerprint256,
    });
    cert = cert.issuerCertificate;
  }
  return out;
}

function openTls(
  socket: Socket,
  host: string,
  ca: readonly string[] | null | undefined,
  t: StepTimeouts,
  signal?: AbortSignal,
): Promise<TLSSocket> {
  const tls = tlsConnect({
    socket,
    host, // the name the certificate must match
    ...(isIP(host) ? {} : { servername: host }),
    ...(ca ? { ca: [...ca] } : {}),
    // Verified below from socket.authorized: the verdict is reported, not enforced.
    rejectUnauthorized: false,
  });
  tls.on('error', () => undefined); // as for the TCP socket: reported through the step, never thrown
  const ready = new Promise<TLSSocket>((resolve, reject) => {
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', reject);
  });
  return within(ready, t.tlsMs, signal, () => tls.destroy());
}

/** Sends `HEAD /` and reads the response head; returns the status line, the Date header and the local time of the answer. */
function headRequest(
  tls: TLSSocket,
  host: string,
  port: number,
  t: StepTimeouts,
  signal?: AbortSignal,
): Promise<{ status: string; date?: string; localMs: number }> {
  const hostHeader = `${isIP(host) === 6 ? `[${host}]` : host}${port === 443 ? '' : `:${port}`}`;
  const sent = Date.now();
  const done = new Promise<{ status: string; date?: string; localMs: number }>((resolve, reject) => {
    let head = '';
    let answered = 0;
    const finish = (): void => {
      const end = head.indexOf('\r\n\r\n');
      const lines = (end === -1 ? head : head.slice(0, end)).split('\r\n');
      const status = lines[0] ?? '';
      if (!/^HTTP\/\d/.test(status))
        return reject(new StepError('EPROTO', head ? 'the answer is not HTTP' : 'closed without an HTTP answer'));
      const date = lines.find((l) => /^date:/i.test(l))?.replace(/^date:\s*/i, '');
      resolve({ status, ...(date ? { date } : {}), localMs: (sent + answered) / 2 });
    };
    tls.on('data', (chunk: Buffer) => {
      if (!answered) answered = Date.now();
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n') || head.length > 16 * 1024) {
        tls.removeAllListeners('data');
        finish();
      }
    });
    tls.once('end', finish);
    tls.once('close', finish);
    tls.once('error', reject);
  });
  tls.write(`HEAD / HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`);
  return within(done, t.httpMs, signal);
}

async function checkHost(target: GatewayTarget, input: ConnectivityInput, t: StepTimeouts): Promise<HostCheck> {
  const signal = input.signal;
  const parsed = parseAddress(target.address);
  const base = { name: target.name, address: target.address, host: parsed?.host ?? '', port: parsed?.port ?? 0 };
  if (!parsed)
    return {
      ...base,
      dns: { ok: false, ms: 0, addresses: [], source: 'dns', error: 'EINVAL: not a host, host:port or URL' },
      skewSeconds: null,
    };
  const { host, port } = parsed;
  const override = input.resolve?.get(host.toLowerCase());
  let dnsStep: HostCheck['dns'];
  if (isIP(host)) dnsStep = { ok: true, ms: 0, addresses: [host], source: 'literal' };
  else if (override) dnsStep = { ok: true, ms: 0, addresses: [override], source: 'resolve' };
  else {
    const r = await timed(() => within(dns.lookup(host, { all: true, order: 'verbatim' }), t.dnsMs, signal));
    const addresses = (r.value ?? []).map((a) => a.address);
    dnsStep = {
      ok: !r.error && addresses.length > 0,
      ms: r.ms,
      addresses,
      source: 'dns',
      ...(r.error ? { error: r.error } : addresses.length ? {} : { error: 'ENODATA: no address' }),
    };
  }
  const check: HostCheck = { ...base, dns: dnsStep, skewSeconds: null };
  const address = dnsStep.addresses[0];
  if (!dnsStep.ok || address === undefined) return check;

  const tcp = await timed(() => openTcp(address, port, t, signal));
  check.tcp = { ok: !tcp.error, ms: tcp.ms, address, ...(tcp.error ? { error: tcp.error } : {}) };
  if (!tcp.value) return check;

  const trust = input.ca ? 'configured CA' : 'system roots';
  const tls = await timed(() => openTls(tcp.value as Socket, host, input.ca, t, signal));
  if (!tls.value) {
    tcp.value.destroy();
    check.tls = { ok: false, ms: tls.ms, trust, chain: [], ...(tls.error ? { error: tls.error } : {}) };
    return check;
  }
  const s = tls.value;
  try {
    check.tls = {
      ok: true,
      ms: tls.ms,
      protocol: s.getProtocol() ?? undefined,
      cipher: s.getCipher()?.name,
      authorized: s.authorized,
      ...(s.authorizationError ? { authorizationError: String(s.authorizationError) } : {}),
      trust,
      chain: chainOf(s),
    };
    const http = await timed(() => headRequest(s, host, port, t, signal));
    check.http = {
      ok: !http.error,
      ms: http.ms,
      ...(http.value ? { status: http.value.status } : {}),
      ...(http.value?.date ? { date: http.value.date } : {}),
      ...(http.error ? { error: http.error } : {}),
    };
    const gateway = http.value?.date ? Date.parse(http.value.date) : NaN;
    // Date has whole seconds, truncated: the gateway's clock was half a second later on average.
    if (http.value && Number.isFinite(gateway))
      check.skewSeconds = Math.round((http.value.localMs - (gateway + 500)) / 1000);
  } finally {
    s.destroy();
  }
  return check;
}

/** Checks every host, at most {@link MAX_CONCURRENT_HOSTS} at once; results in input order. Never throws. */
export async function checkConnectivity(input: ConnectivityInput): Promise<HostCheck[]> {
  const t = { ...DEFAULT_STEP_TIMEOUTS, ...input.timeouts };
  const results: HostCheck[] = new Array<HostCheck>(input.hosts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < input.hosts.length) {
      const i = next++;
      const target = input.hosts[i] as GatewayTarget;
      results[i] = await checkHost(target, input, t).catch((err: unknown) => ({
        name: target.name,
        address: target.address,
        host: '',
        port: 0,
        dns: { ok: false, ms: 0, addresses: [], source: 'dns' as const, error: `check failed: ${describe(err)}` },
        skewSeconds: null,
      }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_CONCURRENT_HOSTS, input.hosts.length) }, worker));
  return results;
}

function stepLine(label: string, s: Step | undefined, detail = ''): string {
  const head = label.padEnd(6);
  if (!s) return `${head}not tried`;
  return s.ok
    ? `${head}ok (${s.ms} ms)${detail ? `: ${detail}` : ''}`
    : `${head}failed (${s.ms} ms): ${s.error ?? 'unknown'}`;
}

/** The readable text of the checks: one block per host. */
export function formatConnectivity(checks: readonly HostCheck[]): string {
  if (checks.length === 0) return 'No gateway hosts are configured: nothing to check.\n';
  const blocks = checks.map((c) => {
    const lines = [`== ${c.name} (${c.address}) -> ${c.host}:${c.port}`];
    const via = c.dns.source === 'dns' ? '' : c.dns.source === 'resolve' ? ' (from --resolve)' : ' (address literal)';
    lines.push(stepLine('DNS', c.dns, `${c.dns.addresses.join(', ')}${via}`));
    if (!c.dns.ok) return lines.join('\n');
    lines.push(stepLine('TCP', c.tcp, c.tcp ? `${c.tcp.address} port ${c.port}` : ''));
    if (!c.tcp?.ok) return lines.join('\n');
    const tls = c.tls;
    lines.push(stepLine('TLS', tls, tls ? `${tls.protocol ?? '?'} ${tls.cipher ?? '?'}` : ''));
    if (!tls?.ok) return lines.join('\n');
    lines.push(
      tls.authorized
        ? `      chain verifies against the ${tls.trust}`
        : `      chain does NOT verify against the ${tls.trust}: ${tls.authorizationError ?? 'unknown reason'}`,
    );
    tls.chain.forEach((cert, i) => {
      lines.push(
        `      [${i}] subject: ${cert.subject}`,
        `          issuer: ${cert.issuer}`,
        `          not after: ${cert.notAfter}`,
        `          sha256: ${cert.sha256}`,
      );
    });
    lines.push(stepLine('HTTP', c.http, c.http ? `${c.http.status ?? ''}; Date: ${c.http.date ?? 'none'}` : ''));
    lines.push(
      c.skewSeconds === null
        ? 'Clock skew: unknown (no Date header from the gateway)'
        : `Clock skew: ${c.skewSeconds >= 0 ? '+' : ''}${c.skewSeconds} s (local minus gateway)`,
    );
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

/** The collector; `onResults` receives the structured checks (the skew for the summary). */
export function connectivityCollector(
  input: Omit<ConnectivityInput, 'signal'>,
  onResults?: (checks: HostCheck[]) => void,
): Collector {
  return async (ctx) => {
    const checks = await checkConnectivity({ ...input, signal: ctx.signal });
    onResults?.(checks);
    return formatConnectivity(checks);
  };
}

/** Time the collector needs at most: every step's limit, once per wave of concurrent hosts, plus slack. */
export function connectivityBudgetMs(hosts: number, timeouts: Partial<StepTimeouts> = {}): number {
  const t = { ...DEFAULT_STEP_TIMEOUTS, ...timeouts };
  const waves = Math.max(1, Math.ceil(hosts / MAX_CONCURRENT_HOSTS));
  return waves * (t.dnsMs + t.tcpMs + t.tlsMs + t.httpMs) + 2000;
}
