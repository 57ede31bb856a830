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
import { redactor, type LogRecord } from '@tandem/common';
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

function run(args: string[], file = IP): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { env: childEnv(), timeout: 3000, maxBuffer: 512 * 1024 }, (err, stdout) => {
      resolve(err ? `unavailable: ${err.message}` : stdout);
    });
  });
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
export async function exportBundle(src: DiagnosticSources, admin: boolean): Promise<ResultOf<'diagnostics.export'>> {
  const profiles = src.profiles();
  const [routes4, routes6, addrs, resolv] = await Promise.all([
    run(['-4', 'route', 'show', 'table', 'all']),
    run(['-6', 'route', 'show', 'table', 'all']),
    run(['addr', 'show']),
    readFile(src.resolvConf ?? '/etc/resolv.conf', 'utf8').catch((err: Error) => `unavailable: ${err.message}`),
  ]);
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
