/**
 * Gateway state: pending MCA challenges (keyed by aggauth-handle, single use, with a TTL),
 * authenticated sessions (keyed by the webvpn cookie) and the IPv4 address pool.
 * Cookies and handles come from crypto.randomBytes; nothing here is derived from client input.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { formatIpv4, parseIpv4 } from '@tandem/common';
import { parseCidr } from './options.js';

/** A challenge we sent and are waiting to see signed. */
export interface PendingChallenge {
  handle: string;
  /** The exact response body bytes the client must have signed. */
  body: Buffer;
  /** SHA-256 fingerprint of the machine certificate presented at `init`. */
  machineFingerprint: string;
  hashes: readonly string[];
  expiresAt: number;
}

/** Pending challenges; `take` removes the entry so a handle can be answered only once. */
export class ChallengeStore {
  private readonly pending = new Map<string, PendingChallenge>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh decimal handle (like the ASA's) that is not in use. */
  newHandle(): string {
    for (;;) {
      const handle = String(randomInt(1_000_000_000, 2 ** 47));
      if (!this.pending.has(handle)) return handle;
    }
  }

  /** Remembers a challenge until it is taken or expires. */
  put(entry: Omit<PendingChallenge, 'expiresAt'>): void {
    this.sweep();
    this.pending.set(entry.handle, { ...entry, expiresAt: this.now() + this.ttlMs });
  }

  /** Removes and returns the challenge, or a reason why there is none. */
  take(handle: string): PendingChallenge | { missing: string } {
    const entry = this.pending.get(handle);
    this.pending.delete(handle);
    if (!entry) return { missing: 'unknown or already used aggauth-handle' };
    if (entry.expiresAt < this.now()) return { missing: 'challenge expired' };
    return entry;
  }

  /** Number of live challenges (tests use it to check cleanup). */
  get size(): number {
    this.sweep();
    return this.pending.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, v] of this.pending) if (v.expiresAt < t) this.pending.delete(k);
  }
}

/** How a session authenticated. */
export type AuthMode = 'multiple-certificate' | 'certificate';

/** An authenticated session. */
export interface Session {
  cookie: string;
  username: string;
  authMode: AuthMode;
  machine: string;
  user: string | null;
  group: string;
  expiresAt: number;
  /** Tunnel address while a tunnel is (or was) up; kept across temporary disconnects. */
  address: string | null;
  /** True while a CSTP connection uses it. */
  active: boolean;
}

/** Sessions by cookie. */
export class SessionStore {
  private readonly byCookie = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a session with a fresh random cookie (32 bytes, base64url). */
  create(fields: Omit<Session, 'cookie' | 'expiresAt' | 'address' | 'active'>): Session {
    const session: Session = {
      ...fields,
      cookie: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + this.ttlMs,
      address: null,
      active: false,
    };
    this.byCookie.set(session.cookie, session);
    return session;
  }

  /** The live session for a cookie, or null (unknown, logged out or expired). */
  get(cookie: string): Session | null {
    const s = this.byCookie.get(cookie);
    if (!s) return null;
    if (s.expiresAt < this.now()) {
      this.byCookie.delete(cookie);
      return null;
    }
    return s;
  }

  /** Ends a session: its cookie is no longer accepted. */
  remove(cookie: string): void {
    this.byCookie.delete(cookie);
  }

  /** All live sessions (for shutdown). */
  all(): Session[] {
    return [...this.byCookie.values()];
  }
}

/** Hands out host addresses from a CIDR; the first host address is the gateway's own. */
export class AddressPool {
  readonly gateway: string;
  readonly prefix: number;
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();

  constructor(cidr: string) {
    const { network, prefix } = parseCidr(cidr);
    if (prefix > 30) throw new Error(`pool ${cidr} is too small (need at least /30)`);
    const base = parseIpv4(network) ?? 0;
    this.prefix = prefix;
    this.gateway = formatIpv4(base + 1);
    this.first = base + 2;
    this.last = base + 2 ** (32 - prefix) - 2;
  }

  /** Leases the lowest free address, or null when the pool is exhausted. */
  lease(): string | null {
    for (let n = this.first; n <= this.last; n++) {
      if (!this.used.has(n)) {
        this.used.add(n);
        return formatIpv4(n);
      }
    }
    return null;
  }

  /** Returns an address to the pool. */
  release(ip: string): void {
    const n = parseIpv4(ip);
    if (n !== null) this.used.delete(n);
  }
}
