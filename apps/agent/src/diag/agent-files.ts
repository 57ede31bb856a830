/**
 * The bundle's files only the agent can write: its state, both tunnels' statistics and
 * transitions, its effective configuration, the profiles it enforces with their validation,
 * and the certificate verdicts of the machine store and of the last attempts. Each is a
 * collector (see @tandem/diagnostics); the audience decides what goes in: a non-administrator
 * gets nothing about other users' sessions and no machine-only data (machine store, machine
 * tunnel certificates, the management profile).
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { statsText } from '@tandem/contract';
import type { Collector } from '@tandem/diagnostics';
import type { EngineSnapshot } from '@tandem/engine';
import type { Attempt, CertificateVerdict, SelectionRecord, ServerSeen } from '../attempts.js';
import type { Transition } from '../history.js';
import type { ProfileSet } from '../profiles.js';
import { wireStats, wireStatus } from '../snapshot-map.js';

/** Who asked: administrators see everything; a user sees the machine tunnel and its own. */
export interface Audience {
  uid: number;
  admin: boolean;
}

/** What the agent's files are made from. */
export interface AgentState {
  snapshot(): EngineSnapshot;
  machineTunnel(): { enabled: boolean; setBy?: { uid: number; at: string } };
  transitions(uid: number | null): Transition[];
  lastFailure(tunnel: 'machine' | 'user', uid: number | null): Transition | undefined;
  attempt(tunnel: 'machine' | 'user'): Attempt | undefined;
  profiles(): ProfileSet;
  /** The machine store's verdicts for the machine tunnel and for the user tunnel's MCA. */
  machineVerdicts(): Promise<{ machine: SelectionRecord | null; user: SelectionRecord; problems: string[] }>;
  /** The effective configuration, each value with where it came from. */
  config(): Record<string, { value: unknown; source: string }>;
}

const PROFILE_CAP = 1024 * 1024;

/** May this audience see the user tunnel's details (owner or administrator)? */
export function ownsUser(snapshot: EngineSnapshot, who: Audience): boolean {
  const user = snapshot.tunnels.find((t) => t.kind === 'user');
  return who.admin || user?.ownerUid === undefined || user.ownerUid === who.uid;
}

/** `agent/state.json`: status as `tandem status` shows it, plus the engine's view for those entitled. */
export function stateFile(state: AgentState, who: Audience): Collector {
  return async () => {
    const snap = state.snapshot();
    const tunnels = snap.tunnels.filter((t) => t.kind === 'machine' || ownsUser(snap, who));
    return JSON.stringify({
      at: new Date(snap.at).toISOString(),
      status: wireStatus(snap),
      machineTunnel: state.machineTunnel(),
      desired: snap.desired,
      tnd: snap.tnd,
      userTnd: snap.userTnd,
      alwaysOn: snap.alwaysOn,
      portal: snap.portal,
      tunnels: tunnels.map((t) => ({ ...t, since: new Date(t.since).toISOString() })),
      lastErrors: {
        machine: state.lastFailure('machine', who.admin ? null : who.uid) ?? null,
        user: state.lastFailure('user', who.admin ? null : who.uid) ?? null,
      },
    });
  };
}

/** `agent/stats.txt`: the `vpncli stats` sections of each tunnel. */
export function statsFile(state: AgentState, who: Audience): Collector {
  return async () => {
    const snap = state.snapshot();
    const out: string[] = [];
    for (const kind of ['user', 'machine'] as const) {
      out.push(`==== ${kind === 'user' ? 'User tunnel' : 'Machine tunnel'} ====`);
      if (kind === 'user' && !ownsUser(snap, who)) {
        out.push("(another user's tunnel: shown to administrators only)", '');
        continue;
      }
      out.push(statsText(wireStats(snap, kind)));
    }
    return out.join('\n');
  };
}

/** `agent/events.jsonl`: the tunnels' transitions the caller may see, oldest first. */
export function eventsFile(state: AgentState, who: Audience): Collector {
  return async () => {
    const lines = state
      .transitions(who.admin ? null : who.uid)
      .map((t) => JSON.stringify({ event: 'transition', ...t }));
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  };
}

/** `agent/config/effective.json`: every setting in force and its source (the management profile's for administrators). */
export function configFile(state: AgentState, who: Audience): Collector {
  return async () => {
    const all = Object.entries(state.config());
    return JSON.stringify(Object.fromEntries(all.filter(([k]) => who.admin || !k.startsWith('machineProfile.'))));
  };
}

/** `profiles/*.xml` (the management profile for administrators only) and `profiles/validation.txt`. */
export function profileFiles(state: AgentState, who: Audience): Collector {
  return async (ctx) => {
    const set = state.profiles();
    const lines: string[] = ['Profiles the agent read at its last load', ''];
    for (const f of set.files) {
      const machine = basename(f.dir) === 'mgmttun';
      const name = `${machine ? 'mgmttun-' : ''}${f.file}`.replace(/[^A-Za-z0-9._-]/g, '_');
      lines.push(`${machine ? 'mgmttun/' : ''}${f.file} (${f.dir}): ${f.status}${f.reason ? ` — ${f.reason}` : ''}`);
      for (const w of f.warnings ?? []) lines.push(`    line ${w.line}: ${w.message}`);
      if (machine && !who.admin) {
        lines.push('    (the management tunnel profile is shown to administrators only)');
        continue;
      }
      if (f.status === 'refused') continue;
      const text = await readFile(join(f.dir, f.file), 'utf8').catch((err: Error) => `unreadable: ${err.message}`);
      await ctx.add(`profiles/${name}`, text.length > PROFILE_CAP ? text.slice(-PROFILE_CAP) : text, { format: 'xml' });
    }
    if (set.files.length === 0) lines.push('(no profile installed)');
    lines.push('', 'Merge warnings (conflicting host entries and preferences):');
    const merge = set.merged.warnings;
    if (merge.length === 0) lines.push('    none');
    for (const w of merge) lines.push(`    ${w.file} line ${w.line}: ${w.message}`);
    return `${lines.join('\n')}\n`;
  };
}

/** One field per line, `name: value`, so the bundle's structural redaction knows each kind. */
function verdictLines(v: CertificateVerdict): string[] {
  return [
    `  - ${v.accepted ? 'ACCEPTED' : 'refused'}`,
    `      subject: ${v.subject}`,
    `      issuer: ${v.issuer}`,
    `      serial: ${v.serial || 'unknown'}`,
    `      valid: ${v.notBefore.slice(0, 10)} to ${v.notAfter.slice(0, 10)}`,
    `      store: ${v.store}`,
    `      sha256: ${v.sha256}`,
    ...(v.accepted ? [] : [`      first failing rule: ${v.reasons[0] ?? 'none given'}`]),
    ...v.reasons.slice(1).map((r) => `      also: ${r}`),
  ];
}

/** Text of one selection: each candidate with its verdict, the winner named. */
export function selectionText(title: string, record: SelectionRecord | null | undefined): string[] {
  if (!record) return [`${title}: no selection recorded`, ''];
  const chosen = record.verdicts.find((v) => v.sha256 === record.selected);
  return [
    `${title} (${record.at}): ${record.verdicts.length} candidate(s), selected: ${chosen ? chosen.subject : 'none'}`,
    ...record.verdicts.flatMap(verdictLines),
    '',
  ];
}

function serverText(seen: ServerSeen | undefined): string[] {
  if (!seen) return ['    no handshake recorded', ''];
  return [
    `    host ${seen.host} at ${seen.at}`,
    `    verdict: ${seen.verdict}`,
    `    chain validation: ${seen.chainValid ? 'valid' : `failed (${seen.chainError ?? 'unknown'})`}`,
    `    pin: ${seen.pin}; ${seen.pinsConfigured} configured, ${seen.pinMatched ? 'matched' : 'not matched'}; strict trust ${seen.strict ? 'on' : 'off'}`,
    `    ${seen.chainPem.length} certificate(s) in the chain, leaf first (public certificates):`,
    ...seen.chainPem.map((p) => p.trimEnd()),
    '',
  ];
}

/**
 * `certificates/candidates.txt` (administrators: the machine store's verdicts),
 * `certificates/selected.txt` and `certificates/server-chain.txt` (the last attempts the
 * caller may see).
 */
export function certificateFiles(state: AgentState, who: Audience): Collector {
  return async (ctx) => {
    if (who.admin) {
      const v = await state.machineVerdicts();
      await ctx.add(
        'certificates/candidates.txt',
        [
          'Machine store candidates and the selection’s verdicts',
          '',
          ...selectionText('For the machine tunnel (management profile)', v.machine),
          ...selectionText('For the user tunnel’s MCA machine certificate (user profile rules)', v.user),
          'Store problems:',
          ...(v.problems.length > 0 ? v.problems.map((p) => `    ${p}`) : ['    none']),
          '',
        ].join('\n'),
      );
    }
    const snap = state.snapshot();
    const machine = who.admin ? state.attempt('machine') : undefined;
    const user = ownsUser(snap, who) ? state.attempt('user') : undefined;
    const hidden = who.admin ? [] : ['(machine certificates are shown to administrators only)', ''];
    await ctx.add(
      'certificates/selected.txt',
      [
        'Certificates used in the last attempts, and why',
        '',
        ...hidden,
        ...(who.admin ? selectionText('Machine tunnel: machine certificate', machine?.machineCertificate) : []),
        ...(who.admin
          ? selectionText('User tunnel: machine certificate (MCA, TLS handshake)', user?.machineCertificate)
          : []),
        ...selectionText('User tunnel: user certificate (MCA, signed challenge)', user?.userCertificate),
      ].join('\n'),
    );
    await ctx.add(
      'certificates/server-chain.txt',
      [
        'Last gateway chain seen, with its validation and pin result',
        '',
        ...hidden,
        ...(who.admin ? ['Machine tunnel:', ...serverText(machine?.server)] : []),
        'User tunnel:',
        ...serverText(user?.server),
      ].join('\n'),
    );
    return undefined;
  };
}
