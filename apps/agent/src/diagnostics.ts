/**
 * `diagnostics.export`: a small redacted JSON bundle built in memory from a fixed list of
 * sources and returned over IPC — the agent never writes it to, or reads anything from, a path
 * the caller chose. Admins get the log ring and the machine-store
 * inventory (certificates without keys); other users get the status, host list, profile load
 * results and the network picture only, since logs mention other users' sessions.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, redactor, TandemError, type LogRecord } from '@tandem/common';
import type { ResultOf, StatusSnapshot } from '@tandem/contract';
import { childEnv } from './environment.js';
import type { ProfileSet } from './profiles.js';
import type { MachineStore } from './adapters/machine-credentials.js';

/** Where the bundle's facts come from. */
export interface DiagnosticSources {
  agentVersion: string;
  status: () => StatusSnapshot;
  profiles: () => ProfileSet;
  machineStore: MachineStore;
  logRecords: () => LogRecord[];
  /** Names of environment variables removed at start. */
  removedEnvironment: readonly string[];
  resolvConf?: string;
}

/** Absolute path of `ip`: spawned by path with an argv array, never through a shell. */
const IP = '/usr/sbin/ip';

/** Children the diagnostics may run at once, however many callers ask. */
const MAX_CHILDREN = 4;
/** How long one set of network facts serves every export (a flood costs one set of children). */
const NETWORK_TTL_MS = 2000;
/** Exports one uid may have in flight; more get E_IPC_LIMIT. */
const MAX_EXPORTS_PER_UID = 2;

let children = 0;
const waiting: Array<() => void> = [];

function run(args: string[], file = IP): Promise<string> {
  return new Promise((resolve) => {
    const start = (): void => {
      children++;
      execFile(file, args, { env: childEnv(), timeout: 3000, maxBuffer: 512 * 1024 }, (err, stdout) => {
        children--;
        waiting.shift()?.();
        resolve(err ? `unavailable: ${err.message}` : stdout);
      });
    };
    if (children < MAX_CHILDREN) start();
    else waiting.push(start);
  });
}

interface NetworkFacts {
  routes4: string;
  routes6: string;
  addresses: string;
  resolvConf: string;
}

let network: { at: number; facts: Promise<NetworkFacts> } | null = null;

/** The routes, addresses and resolv.conf, shared by every export within NETWORK_TTL_MS. */
function networkFacts(resolvConf: string): Promise<NetworkFacts> {
  if (network && Date.now() - network.at < NETWORK_TTL_MS) return network.facts;
  const facts = Promise.all([
    run(['-4', 'route', 'show', 'table', 'all']),
    run(['-6', 'route', 'show', 'table', 'all']),
    run(['addr', 'show']),
    readFile(resolvConf, 'utf8').catch((err: Error) => `unavailable: ${err.message}`),
  ]).then(([routes4, routes6, addresses, resolv]) => ({ routes4, routes6, addresses, resolvConf: resolv }));
  network = { at: Date.now(), facts };
  return facts;
}

const inFlight = new Map<number, number>();

/**
 * {@link exportBundle} for one caller, at most MAX_EXPORTS_PER_UID at once per uid: the export
 * is cheap to ask for and costs children and memory to serve.
 */
export async function exportFor(
  src: DiagnosticSources,
  caller: { uid: number; admin: boolean },
): Promise<ResultOf<'diagnostics.export'>> {
  const n = inFlight.get(caller.uid) ?? 0;
  if (n >= MAX_EXPORTS_PER_UID)
    throw new TandemError(ErrorCodes.IPC_LIMIT, `${n} diagnostic exports of this user are already running`);
  inFlight.set(caller.uid, n + 1);
  try {
    return await exportBundle(src, caller.admin);
  } finally {
    const left = (inFlight.get(caller.uid) ?? 1) - 1;
    if (left <= 0) inFlight.delete(caller.uid);
    else inFlight.set(caller.uid, left);
  }
}

/**
 * Names (never values) of the variables a child of the agent really receives: proof for
 * operators and tests that nothing dangerous from the agent's own start reaches a child.
 */
async function childEnvironmentNames(): Promise<string[]> {
  const out = await run([], '/usr/bin/env');
  return out
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => l.slice(0, l.indexOf('=')))
    .sort();
}

async function inventory(store: MachineStore): Promise<unknown> {
  const { candidates, diagnostics } = await store.list();
  return {
    certificates: candidates.map((c) => ({
      sha256: c.model.sha256,
      subject: c.model.subjectDn,
      issuer: c.model.issuerDn,
      notBefore: c.model.notBefore.toISOString(),
      notAfter: c.model.notAfter.toISOString(),
      hasPrivateKey: c.model.key.hasPrivateKey,
    })),
    problems: diagnostics.map((d) => ({ origin: d.origin, message: d.message })),
  };
}

/** Builds the bundle for a caller; `admin` decides what it may contain. */
async function exportBundle(src: DiagnosticSources, admin: boolean): Promise<ResultOf<'diagnostics.export'>> {
  const profiles = src.profiles();
  const {
    routes4,
    routes6,
    addresses: addrs,
    resolvConf: resolv,
  } = await networkFacts(src.resolvConf ?? '/etc/resolv.conf');
  const doc: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    agentVersion: src.agentVersion,
    audience: admin ? 'admin' : 'user',
    status: src.status(),
    hosts: profiles.merged.hosts.map((h) => ({
      name: h.hostName,
      address: h.hostAddress,
      profile: h.profileFile.split('/').pop(),
    })),
    profiles: { files: profiles.files, machineProfile: profiles.machine !== null },
    environment: { removedAtStart: [...src.removedEnvironment] },
    network: { routes4, routes6, addresses: addrs, resolvConf: resolv },
  };
  if (admin) {
    doc['machineStore'] = await inventory(src.machineStore).catch((err: Error) => ({ error: err.message }));
    doc['log'] = src.logRecords();
    (doc['environment'] as Record<string, unknown>)['childVariables'] = await childEnvironmentNames();
  }
  // Two passes: secret fields by name, then secret values and shapes anywhere in the text.
  const json = redactor.string(JSON.stringify(redactor.value(doc), null, 2));
  const data = Buffer.from(json, 'utf8');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    fileName: `tandem-diagnostics-${stamp}.json`,
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    data: data.toString('base64'),
  };
}
