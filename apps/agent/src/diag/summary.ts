/**
 * summary.txt, the bundle's first page: what a support engineer reads before anything else —
 * versions, the OS, both tunnels' state and last error, the last 20 transitions, the profiles in
 * force, the trusted-network verdict, the clock against the gateways, and what the bundle
 * could not collect. Written by the agent after its collectors ran; the caller appends its own
 * part (the user's certificate store).
 */
import { readFile } from 'node:fs/promises';
import { arch, release } from 'node:os';
import type { CollectorRun } from '@tandem/diagnostics';
import type { EngineSnapshot, TunnelSnapshot } from '@tandem/engine';
import type { Transition } from '../history.js';
import { ownsUser, type AgentState, type Audience } from './agent-files.js';

/** Facts for {@link summaryText} beyond the agent's state. */
export interface SummaryFacts {
  bundleId: string;
  agentVersion: string;
  who: Audience;
  redact: boolean;
  /** Clock skew per gateway host in seconds (local minus gateway), when a gateway answered. */
  skew: Array<{ host: string; seconds: number }>;
  collectors: readonly CollectorRun[];
  osReleaseFile?: string;
}

const TRANSITIONS = 20;

function tunnelLine(t: TunnelSnapshot | undefined, at: number): string {
  if (!t) return 'unknown';
  const since = `since ${new Date(t.since).toISOString()} (${Math.max(0, Math.round((at - t.since) / 1000))} s)`;
  const gw = t.gateway ? ` ${t.gateway}` : '';
  const transport = t.details ? `, ${t.details.protocol} ${t.details.cipher}, MTU ${t.details.mtu}` : '';
  return `${t.state}${gw} ${since}${transport}`;
}

function transitionLine(t: Transition): string {
  const what = `${t.tunnel.padEnd(7)} ${t.from} → ${t.to}`;
  const extra = [t.gateway, t.code, t.message].filter(Boolean).join(' | ');
  return `  ${t.time}  ${what}${extra ? `  ${extra}` : ''}`;
}

async function osName(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1];
  return pretty ?? 'unknown (no os-release)';
}

/** The summary's text. */
export async function summaryText(state: AgentState, facts: SummaryFacts): Promise<string> {
  const snap: EngineSnapshot = state.snapshot();
  const uid = facts.who.admin ? null : facts.who.uid;
  const tunnel = (k: 'machine' | 'user'): TunnelSnapshot | undefined => snap.tunnels.find((t) => t.kind === k);
  const user = tunnel('user');
  const userVisible = ownsUser(snap, facts.who);
  const mt = state.machineTunnel();
  const failure = (k: 'machine' | 'user'): string => {
    const f = state.lastFailure(k, uid);
    return f ? `${f.time} ${f.code ?? ''} ${f.message ?? ''}`.trim() : 'none recorded';
  };
  const set = state.profiles();
  const kept = state.transitions(uid);
  const transitions = kept.slice(-TRANSITIONS);
  const failed = facts.collectors.filter((c) => c.exit !== 'ok' && c.exit !== 0);
  const lines = [
    'Tandem diagnostic bundle — summary',
    '',
    `Bundle:         ${facts.bundleId}, created ${new Date().toISOString()}`,
    `Asked by:       uid ${facts.who.uid} (${facts.who.admin ? 'administrator' : 'user: no data about other users'})`,
    `Redaction:      ${facts.redact ? 'names and addresses tokenised, secrets removed' : 'off (administrator), secrets removed'}`,
    `Versions:       tandemd ${facts.agentVersion}, Node ${process.version}`,
    `OS:             ${await osName(facts.osReleaseFile ?? '/etc/os-release')}, kernel ${release()}, ${arch()}`,
    '',
    `Machine tunnel: ${tunnelLine(tunnel('machine'), snap.at)}`,
    `                ${mt.enabled ? 'enabled' : 'disabled'}${mt.setBy ? ` by uid ${mt.setBy.uid} at ${mt.setBy.at}` : ' (profiles decide)'}`,
    `User tunnel:    ${userVisible ? tunnelLine(user, snap.at) : `${user?.state ?? 'unknown'} (another user's)`}`,
    `Supervisor:     wants ${snap.desired.tunnel} — ${snap.desired.reason}`,
    `Network (TND):  ${snap.tnd.verdict} — ${snap.tnd.reason}`,
    `User TND:       ${snap.userTnd.verdict} — ${snap.userTnd.reason}`,
    `Always-On:      ${snap.alwaysOn.blocking ? 'blocking' : 'not blocking'} — ${snap.alwaysOn.reason}`,
    `Captive portal: ${snap.portal === 'detected' ? 'detected' : 'none seen'}`,
    '',
    // Not `user: …`: the bundle's structural redaction would read that as a user name.
    'Last error per tunnel:',
    `  machine tunnel: ${failure('machine')}`,
    `  user tunnel:    ${failure('user')}`,
    '',
    'Profiles in force:',
    ...(set.files.length > 0
      ? set.files.map((f) => `  ${f.dir.endsWith('/mgmttun') ? 'mgmttun/' : ''}${f.file}: ${f.status}`)
      : ['  none installed']),
    `  ${set.merged.hosts.length} host entr${set.merged.hosts.length === 1 ? 'y' : 'ies'}; management profile ${set.machine ? 'present' : 'absent'}`,
    '',
    'Clock against the gateways (local minus gateway):',
    ...(facts.skew.length > 0
      ? facts.skew.map(
          (s) =>
            `  ${s.host}: ${s.seconds > 0 ? '+' : ''}${s.seconds} s${Math.abs(s.seconds) > 300 ? '  ← more than 5 minutes: certificates may look expired or not yet valid' : ''}`,
        )
      : ['  no gateway answered the reachability check']),
    '',
    `Last ${TRANSITIONS} transitions (of ${kept.length} kept):`,
    ...(transitions.length > 0 ? transitions.map(transitionLine) : ['  none since the agent started']),
    '',
    'Collectors that did not finish cleanly:',
    ...(failed.length > 0 ? failed.map((c) => `  ${c.name}: ${c.exit}${c.error ? ` — ${c.error}` : ''}`) : ['  none']),
    '',
  ];
  return lines.join('\n');
}
