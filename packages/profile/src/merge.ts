/**
 * Combining several loaded profiles (docs/profile.md#several-profiles). The host list is the union of all entries,
 * first definition of a host name wins; preferences are never merged field by field: a
 * connection uses the ClientInitialization of the profile that owns the chosen host, and a
 * host found in no profile gets the built-in defaults.
 */
import { defaultClientInitialization } from './client-init.js';
import type { ClientInitialization, ClientProfile, HostEntry, ProfileWarning } from './model.js';

/** One profile to merge, with the file it came from. */
export interface ProfileSource {
  file: string;
  profile: ClientProfile;
}

/** A host of the merged list, with the profile file that owns it. */
export interface MergedHost extends HostEntry {
  profileFile: string;
}

/** A warning raised while merging, tied to the file it concerns. */
export interface MergeWarning extends ProfileWarning {
  file: string;
}

/** Preferences chosen for a host. */
export interface HostPreferences {
  /** The owning profile's file, or null when built-in defaults apply. */
  profileFile: string | null;
  host: MergedHost | null;
  clientInitialization: ClientInitialization;
}

/** The result of {@link mergeProfiles}. */
export interface MergedProfiles {
  hosts: MergedHost[];
  warnings: MergeWarning[];
  /** The ClientInitialization of the profile owning the host (matched by name, address or URL, case-insensitively). */
  preferencesForHost(hostNameOrAddress: string): HostPreferences;
  /** The preferences before a host is chosen: those of the first host's profile. */
  defaultPreferences(): HostPreferences;
}

function matches(host: MergedHost, wanted: string): boolean {
  const w = wanted.trim().toLowerCase().replace(/\/+$/, '');
  return [host.hostName, host.hostAddress, host.url, host.url.replace(/^https:\/\//, '')].some(
    (candidate) => candidate.toLowerCase() === w,
  );
}

/**
 * Merges user-tunnel profiles in the given order (callers sort by file name for
 * determinism). Management tunnel profiles are left out: they drive a separate tunnel.
 */
export function mergeProfiles(list: readonly ProfileSource[]): MergedProfiles {
  const hosts: MergedHost[] = [];
  const warnings: MergeWarning[] = [];
  const owner = new Map<string, MergedHost>();
  const byFile = new Map<string, ClientInitialization>();
  const alwaysOn: string[] = [];
  for (const { file, profile } of list) {
    if (profile.managementTunnel) {
      warnings.push({
        file,
        line: 1,
        column: 1,
        kind: 'mgmt-profile-excluded',
        message: `${file} is a management tunnel profile; not part of the user host list`,
      });
      continue;
    }
    if (!byFile.has(file)) byFile.set(file, profile.clientInitialization);
    const policy = profile.clientInitialization.automaticVpnPolicy;
    if (policy.enabled && policy.alwaysOn.enabled) alwaysOn.push(file);
    for (const entry of profile.serverList) {
      const key = entry.hostName.toLowerCase();
      const first = owner.get(key);
      if (first) {
        warnings.push({
          file,
          line: entry.line,
          column: 1,
          kind: 'duplicate-host',
          message: `Duplicate host "${entry.hostName}" found in ${file}; host discarded (first defined in ${first.profileFile}:${first.line})`,
        });
        continue;
      }
      const merged: MergedHost = { ...entry, profileFile: file };
      owner.set(key, merged);
      hosts.push(merged);
    }
  }
  if (alwaysOn.length > 1) {
    for (const file of alwaysOn.slice(1)) {
      warnings.push({
        file,
        line: 1,
        column: 1,
        kind: 'multiple-always-on',
        message: `more than one profile enables Always-On (${alwaysOn.join(', ')}); only one Always-On profile may be installed`,
      });
    }
  }
  const forHost = (host: MergedHost | null): HostPreferences => ({
    profileFile: host?.profileFile ?? null,
    host,
    clientInitialization: host
      ? (byFile.get(host.profileFile) ?? defaultClientInitialization())
      : defaultClientInitialization(),
  });
  return {
    hosts,
    warnings,
    preferencesForHost: (wanted) => forHost(hosts.find((h) => matches(h, wanted)) ?? null),
    defaultPreferences: () => forHost(hosts[0] ?? null),
  };
}
