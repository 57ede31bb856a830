/**
 * From the agent's status to what the tray shows: the icon, the sentence, the management
 * tunnel line and what the buttons allow. Pure, so every state is tested without Electron.
 */
import type { ErrorCause, HostEntry, StatusSnapshot, TunnelSnapshot } from '@tandem/contract';
import type { DiagnosticsView, Locale, Message, PromptView, TrayIcon, TrayView } from './bridge.js';
import { msg } from './i18n.js';

/** The link to tandemd as the tray sees it. */
export type AgentLinkState = 'connecting' | 'up' | 'down';

/** Everything the view is computed from. */
export interface ViewInputs {
  locale: Locale;
  agent: AgentLinkState;
  /** The last status from the agent; null before the first. */
  status: StatusSnapshot | null;
  /** This user's uid, as the agent reported it in `hello`. */
  uid: number | null;
  hosts: readonly HostEntry[];
  selectedHost: string | null;
  stats?: TrayView['stats'];
  prompt?: PromptView;
  notice?: Message;
  diagnostics?: DiagnosticsView;
}

type State = TunnelSnapshot['status'];

const gatewayOf = (s: State): string => ('gateway' in s && s.gateway ? s.gateway : '');

/** The user tunnel's sentence, or null when it is idle. */
function userSentence(s: State): Message | null {
  switch (s.state) {
    case 'idle':
      return null;
    case 'connecting':
      return msg('state.connecting', { gateway: s.gateway });
    case 'reconnecting':
      return msg('state.reconnecting', { gateway: s.gateway, attempt: s.attempt });
    case 'disconnecting':
      return msg('state.disconnecting', { gateway: s.gateway });
    case 'connected':
      return msg('state.connected', { gateway: s.gateway });
    case 'error':
      return msg('state.error', { message: s.cause.message });
  }
}

function userIcon(s: State): TrayIcon | null {
  switch (s.state) {
    case 'idle':
      return null;
    case 'connected':
      return 'connected';
    case 'error':
      return 'error';
    default:
      return 'connecting';
  }
}

/** The management tunnel line, e.g. "Disconnected (user tunnel active)". */
export function managementLine(status: StatusSnapshot): Message {
  const m = status.machine.status;
  switch (m.state) {
    case 'connected':
      return msg('mgmt.connected');
    case 'connecting':
      return msg('mgmt.connecting');
    case 'reconnecting':
      return msg('mgmt.reconnecting');
    case 'error':
      return msg('mgmt.error', { code: m.cause.code });
    default:
      if (status.user.status.state !== 'idle') return msg('mgmt.userActive');
      if (status.network?.trust === 'trusted') return msg('mgmt.trusted');
      return msg('mgmt.disconnected');
  }
}

/** What the window says about the physical network, when there is something to say. */
function networkNotice(status: StatusSnapshot): { network?: Message } {
  if (status.network?.portal === 'detected') return { network: msg('network.portal') };
  const up = status.user.status.state === 'connected' || status.machine.status.state === 'connected';
  if (status.network?.blocked === true && !up) return { network: msg('network.blocked') };
  return {};
}

/** Computes the whole view. */
export function trayView(inp: ViewInputs): TrayView {
  const base = {
    locale: inp.locale,
    agent: inp.agent,
    hosts: [...inp.hosts],
    ...(inp.selectedHost !== null ? { selectedHost: inp.selectedHost } : {}),
    ...(inp.prompt ? { prompt: inp.prompt } : {}),
    ...(inp.notice ? { notice: inp.notice } : {}),
    ...(inp.diagnostics ? { diagnostics: inp.diagnostics } : {}),
  };
  const status = inp.status;
  if (inp.agent !== 'up' || status === null) {
    return {
      ...base,
      icon: inp.agent === 'down' ? 'error' : 'disconnected',
      sentence: msg(inp.agent === 'down' ? 'state.agentDown' : 'state.agentConnecting'),
      management: msg('mgmt.disconnected'),
      canConnect: false,
      canDisconnect: false,
    };
  }
  const user = status.user;
  const mine = user.ownerUid === undefined || user.ownerUid === inp.uid;
  const u = user.status;
  let icon: TrayIcon;
  let sentence: Message;
  const fromUser = userSentence(u);
  if (fromUser && mine) {
    icon = userIcon(u)!;
    sentence = fromUser;
  } else if (fromUser) {
    icon = u.state === 'connected' ? 'connected' : 'connecting';
    sentence = msg('state.otherUser');
  } else if (status.machine.status.state === 'connected') {
    icon = 'management';
    sentence = msg('state.management', { gateway: gatewayOf(status.machine.status) });
  } else if (status.network?.trust === 'trusted') {
    icon = 'trusted';
    sentence = msg('state.trusted');
  } else {
    icon = 'disconnected';
    sentence = msg('state.disconnected');
  }
  const error: ErrorCause | undefined = u.state === 'error' && mine ? u.cause : undefined;
  const active = u.state === 'connecting' || u.state === 'connected' || u.state === 'reconnecting';
  return {
    ...base,
    icon,
    sentence,
    ...(error ? { error } : {}),
    user,
    management: managementLine(status),
    ...networkNotice(status),
    canConnect: (u.state === 'idle' || u.state === 'error') && inp.hosts.length > 0,
    canDisconnect: active && mine,
    ...(u.state === 'connected' && mine && inp.stats ? { stats: inp.stats } : {}),
  };
}
