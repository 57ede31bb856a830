/**
 * Profile updates from the gateway (docs/protocol.md#profile-updates, docs/profile.md#profile-updates):
 * after a tunnel is up, each profile the gateway's manifest offers is considered in the
 * background, one at a time, and never delays or fails the tunnel — failures are logged only.
 *
 * For each offer: the local policy's UpdatePolicy must allow the server; the agent alone decides
 * the target file from the profile's kind (the manifest's URI and file name never choose a
 * path); an offer whose SHA-1 equals an installed file's is already installed and not
 * downloaded; the download's SHA-1 must match the manifest; the bytes must parse as a profile
 * (a profile with errors is refused and the installed file stays); then the file is replaced
 * atomically. An installed profile is in force from the agent's next start (or SIGHUP): a
 * management profile is never swapped into a running machine tunnel.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isTandemError, type Logger } from '@tandem/common';
import type { ProfileOffer, ProfileOfferKind } from '@tandem/connection';
import type { TunnelKind } from '@tandem/engine';
import { MGMT_PROFILE_FILE, parseProfile, readProfileBytes, type LocalPolicy } from '@tandem/profile';
import { installProfileFile } from './profile-install.js';

/** What the agent knows about the session that received the offers. */
export interface UpdateContext {
  tunnel: TunnelKind;
  /** The user profile file owning the gateway's host entry, or null. */
  profileFile: string | null;
  /** The gateway is in the installed profiles' server lists (always, for the machine tunnel). */
  inProfiles: boolean;
}

/** The offers of one authenticated session, and their download on that session. */
export interface OfferSource {
  offers: readonly ProfileOffer[];
  download(offer: ProfileOffer): Promise<Buffer>;
}

/** How one offer ended. */
export interface UpdateOutcome {
  kind: ProfileOfferKind;
  host: string;
  status: 'installed' | 'up-to-date' | 'refused' | 'failed';
  /** The file written (or that would have been). */
  file?: string;
  reason?: string;
}

/** Where updates go and what decides them. */
export interface UpdaterOptions {
  /** Tandem's own profile directory: every update is written below it. */
  profileDir: string;
  /** Every profile directory read (Tandem's first): an identical file in any of them counts as installed. */
  profileDirs: readonly string[];
  /** The local policy in force, read for each offer. */
  policy: () => LocalPolicy;
  log: Logger;
}

function normalHost(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** True when an `AuthorizedServerList` entry (a name or address, optionally `:port`) names `host`. */
export function authorizedServer(entry: string, host: string): boolean {
  const e = normalHost(entry);
  const h = normalHost(host);
  if (e === h) return true;
  // `name:port` (one colon: an IPv6 address has several and no port here).
  const colon = e.indexOf(':');
  return colon > 0 && colon === e.lastIndexOf(':') && normalHost(e.slice(0, colon)) === h;
}

/**
 * Why the local policy's UpdatePolicy refuses a `kind` profile from `host`, or null when it
 * allows it. Tandem reads "from any server" as any server of the installed profiles: a gateway
 * a user typed by hand installs nothing unless `AuthorizedServerList` names it.
 */
export function updateRefusal(
  policy: LocalPolicy,
  kind: ProfileOfferKind,
  host: string,
  inProfiles: boolean,
): string | null {
  const u = policy.updatePolicy;
  if (u.authorizedServerList.some((s) => authorizedServer(s, host))) return null;
  const setting =
    kind === 'user' ? 'AllowVPNProfileUpdatesFromAnyServer' : 'AllowManagementVPNProfileUpdatesFromAnyServer';
  const any = kind === 'user' ? u.allowVpnProfileUpdatesFromAnyServer : u.allowManagementVpnProfileUpdatesFromAnyServer;
  if (!any) return `the local policy's ${setting} is false and its AuthorizedServerList does not name ${host}`;
  if (!inProfiles) return `${host} is in no installed profile's server list and not in the AuthorizedServerList`;
  return null;
}

/**
 * The file an update of `kind` replaces, chosen by the agent: the management profile's fixed
 * place; for a user profile the file owning the gateway's host when it is in Tandem's own
 * directory, else `gateway-<host>.xml` there (a host name reduced to `[a-z0-9.-]`).
 */
export function updateTarget(
  profileDir: string,
  kind: ProfileOfferKind,
  host: string,
  profileFile: string | null,
): string {
  const dir = resolve(profileDir);
  if (kind === 'management') return join(dir, 'mgmttun', MGMT_PROFILE_FILE);
  if (profileFile !== null && dirname(resolve(profileFile)) === dir && /\.xml$/i.test(profileFile))
    return join(dir, basename(profileFile));
  const safe = normalHost(host)
    .replace(/[^a-z0-9.-]/g, '_')
    .slice(0, 200);
  return join(dir, `gateway-${safe}.xml`);
}

function sha1(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex');
}

function message(err: unknown): string {
  return isTandemError(err) || err instanceof Error ? err.message : String(err);
}

/** Considers offered profiles, one session at a time. */
export class ProfileUpdater {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: UpdaterOptions) {}

  /** Queues the offers of a session that is up; returns at once (failures are logged, never thrown). */
  offered(ctx: UpdateContext, source: OfferSource): void {
    if (source.offers.length === 0) return;
    this.queue = this.queue
      .then(() => this.apply(ctx, source))
      .catch((err: unknown) => this.opts.log.warn('profile update failed', { error: message(err) }));
  }

  /** Considers every offer of `source` in turn; resolves with each outcome (also logged). */
  async apply(ctx: UpdateContext, source: OfferSource): Promise<UpdateOutcome[]> {
    const out: UpdateOutcome[] = [];
    for (const offer of source.offers) {
      const outcome = await this.one(ctx, source, offer);
      const fields = {
        kind: outcome.kind,
        gateway: outcome.host,
        tunnel: ctx.tunnel,
        sha1: offer.sha1,
        ...(outcome.file ? { file: outcome.file } : {}),
        ...(outcome.reason ? { reason: outcome.reason } : {}),
      };
      if (outcome.status === 'installed')
        this.opts.log.info('profile update installed; in force at the next start of the agent (or SIGHUP)', fields);
      else if (outcome.status === 'up-to-date') this.opts.log.debug('offered profile already installed', fields);
      else this.opts.log.warn(`profile update ${outcome.status}`, { ...fields, uri: offer.uri });
      out.push(outcome);
    }
    return out;
  }

  private async one(ctx: UpdateContext, source: OfferSource, offer: ProfileOffer): Promise<UpdateOutcome> {
    const base = { kind: offer.kind, host: offer.host };
    const refusal = updateRefusal(this.opts.policy(), offer.kind, offer.host, ctx.inProfiles);
    if (refusal) return { ...base, status: 'refused', reason: refusal };
    const file = updateTarget(this.opts.profileDir, offer.kind, offer.host, ctx.profileFile);
    if (await this.installed(offer, file, ctx)) return { ...base, status: 'up-to-date', file };
    let bytes: Buffer;
    try {
      bytes = await source.download(offer);
    } catch (err) {
      return { ...base, status: 'failed', file, reason: `download: ${message(err)}` };
    }
    // The connection package checked it already; the file we write must be the one announced.
    if (sha1(bytes) !== offer.sha1)
      return { ...base, status: 'refused', file, reason: 'the download does not match the manifest SHA-1' };
    try {
      parseProfile(bytes, { file, managementTunnel: offer.kind === 'management' });
    } catch (err) {
      return { ...base, status: 'refused', file, reason: `not a valid profile: ${message(err)}` };
    }
    try {
      await installProfileFile(file, bytes);
    } catch (err) {
      return { ...base, status: 'failed', file, reason: `install: ${message(err)}` };
    }
    return { ...base, status: 'installed', file };
  }

  /**
   * True when an installed file of the offer's kind has the offered SHA-1: the one it would
   * replace, or any other (the same profile installed under another name is not added twice).
   */
  private async installed(offer: ProfileOffer, target: string, ctx: UpdateContext): Promise<boolean> {
    const candidates =
      offer.kind === 'management'
        ? [target, ...this.opts.profileDirs.map((d) => join(d, 'mgmttun', MGMT_PROFILE_FILE))]
        : [target, ...(ctx.profileFile ? [ctx.profileFile] : []), ...(await this.userProfileFiles())];
    for (const path of new Set(candidates)) {
      // A file the loader would refuse is not installed, whatever its bytes.
      const bytes = await readProfileBytes(path, { requireRootOwned: true }).catch(() => null);
      if (bytes && sha1(bytes) === offer.sha1) return true;
    }
    return false;
  }

  /** Every top-level `*.xml` of the profile directories (the user profiles the agent reads). */
  private async userProfileFiles(): Promise<string[]> {
    const out: string[] = [];
    for (const dir of this.opts.profileDirs) {
      const names = await readdir(dir).catch(() => [] as string[]);
      out.push(...names.filter((n) => n.toLowerCase().endsWith('.xml')).map((n) => join(dir, n)));
    }
    return out;
  }
}
