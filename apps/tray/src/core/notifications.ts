/**
 * When the tray speaks up: desktop notifications derived from successive snapshots of THIS
 * user's tunnel (connected, disconnected, reconnecting, failed — once per transition, not on
 * every `state` event, which arrives for byte counters and the other tunnel too), and from the
 * user's own certificates (one notice per certificate per day while it expires within 14 days).
 */
import type { CertificateInfo, StatusSnapshot, TunnelState } from '@tandem/contract';
import type { Message } from './bridge.js';
import { msg } from './i18n.js';

/** One desktop notification, in catalogue messages. */
export interface TrayNotification {
  title: Message;
  body: Message;
}

/** A user certificate expiring within this many days is announced. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

type Phase = TunnelState['state'];

/** The phase of this user's tunnel: another user's tunnel counts as idle for this user. */
function mine(status: StatusSnapshot, uid: number | null): TunnelState {
  const user = status.user;
  const ours = user.ownerUid === undefined || user.ownerUid === uid;
  return ours ? user.status : { state: 'idle' };
}

/** A failure is told once: the same cause at the same time is the same failure. */
const failureKey = (s: TunnelState): string => (s.state === 'error' ? `${s.since} ${s.cause.code}` : '');

/** Turns successive snapshots into notifications about this user's tunnel. */
export class TunnelNotifier {
  private phase: Phase | null = null;
  private failure = '';
  private gateway = '';
  /** Connected since it was last idle or failed: only then is "disconnected" news. */
  private wasUp = false;

  /**
   * The notifications for `status` compared with the previous one. The first snapshot is the
   * baseline (a tray started while connected does not announce it).
   */
  observe(status: StatusSnapshot, uid: number | null): TrayNotification[] {
    const s = mine(status, uid);
    const previous = this.phase;
    const previousFailure = this.failure;
    this.phase = s.state;
    this.failure = failureKey(s);
    if ('gateway' in s && s.gateway) this.gateway = s.gateway;
    const gateway = this.gateway;
    if (previous === null) {
      this.wasUp = s.state === 'connected' || s.state === 'reconnecting';
      return [];
    }
    switch (s.state) {
      case 'connected':
        this.wasUp = true;
        return previous === 'connected'
          ? []
          : [{ title: msg('notify.connectedTitle'), body: msg('notify.connected', { gateway }) }];
      case 'reconnecting':
        return previous === 'reconnecting'
          ? []
          : [{ title: msg('notify.reconnectingTitle'), body: msg('notify.reconnecting', { gateway }) }];
      case 'error':
        this.wasUp = false;
        return previous === 'error' && previousFailure === this.failure
          ? []
          : [
              {
                title: msg('notify.failedTitle'),
                body: msg('notify.failed', { message: s.cause.message.slice(0, 1024), code: s.cause.code }),
              },
            ];
      case 'idle':
        if (!this.wasUp) return [];
        this.wasUp = false;
        return [{ title: msg('notify.disconnectedTitle'), body: msg('notify.disconnected', { gateway }) }];
      case 'connecting':
      case 'disconnecting':
        return [];
    }
  }
}

/** The readable part of a DN: its CN when it has one. */
function commonName(dn: string): string {
  const cn = /(?:^|,\s*)CN=((?:\\.|[^,])+)/.exec(dn)?.[1];
  return (cn ?? dn).slice(0, 1024);
}

/** Announces user certificates that expire soon, once per certificate per (UTC) day. */
export class ExpiryNotifier {
  private readonly told = new Map<string, string>();

  /** The notifications for this listing at `now`. */
  check(certificates: readonly CertificateInfo[], now: Date): TrayNotification[] {
    const today = now.toISOString().slice(0, 10);
    const out: TrayNotification[] = [];
    for (const c of certificates) {
      const left = Date.parse(c.notAfter) - now.getTime();
      if (!(left > 0 && left <= EXPIRY_WARNING_DAYS * DAY_MS)) continue;
      if (this.told.get(c.sha256) === today) continue;
      this.told.set(c.sha256, today);
      out.push({
        title: msg('notify.certExpiringTitle'),
        body: msg('notify.certExpiring', { subject: commonName(c.subject), date: c.notAfter.slice(0, 10) }),
      });
    }
    return out;
  }
}
