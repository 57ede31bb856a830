/**
 * `agent/config/effective.json`: every setting the agent runs with and where it came from —
 * `default`, `command line`, `environment`, `settings file` (an administrator's saved switch),
 * the local policy file, or a profile. Support's first question after "which version" is "what is it configured to
 * do", and the answer must not need the unit file, the profiles and the settings side by side.
 */
import { basename } from 'node:path';
import type { AgentOptions } from '../options.js';
import { parseOptions } from '../options.js';
import { LINUX_AGENT_PATHS, type AgentPaths } from '../platform-paths.js';
import { localPolicySettings } from '@tandem/profile';
import type { LocalPolicyState } from '../local-policy.js';
import type { ProfileSet } from '../profiles.js';

/** One setting and its origin. */
export interface Setting {
  value: unknown;
  source: string;
}

const plain = (v: unknown): unknown => (v instanceof Map ? Object.fromEntries(v) : v);

/** The effective configuration of a running agent. */
export function effectiveConfig(
  options: AgentOptions,
  env: { socketFromEnvironment: boolean },
  machineSwitch: { enabled: boolean; setBy?: { uid: number; at: string } },
  profiles: ProfileSet,
  localPolicy: LocalPolicyState,
  paths: Readonly<AgentPaths> = LINUX_AGENT_PATHS,
): Record<string, Setting> {
  const defaults = parseOptions([], {}, paths) as unknown as Record<string, unknown>;
  const out: Record<string, Setting> = {};
  for (const [key, value] of Object.entries(options)) {
    if (key === 'help') continue;
    const same = JSON.stringify(plain(value)) === JSON.stringify(plain(defaults[key]));
    const source =
      key === 'socketPath' && env.socketFromEnvironment ? 'environment' : same ? 'default' : 'command line';
    out[`agent.${key}`] = { value: plain(value), source };
  }
  out['machineTunnel.enabled'] = {
    value: machineSwitch.enabled,
    source: machineSwitch.setBy
      ? `settings file (uid ${machineSwitch.setBy.uid} at ${machineSwitch.setBy.at})`
      : 'profiles (no administrator choice saved)',
  };
  const policySource = (isDefault: boolean): string => {
    if (localPolicy.status === 'loaded' || localPolicy.status === 'kept-last-good') {
      const kept = localPolicy.status === 'kept-last-good' ? ` (last good version: ${localPolicy.reason ?? ''})` : '';
      return `${isDefault ? 'default (not set in' : 'local policy'} ${localPolicy.file}${isDefault ? ')' : ''}${kept}`;
    }
    return localPolicy.status === 'refused'
      ? `default (${localPolicy.file} refused: ${localPolicy.reason ?? ''})`
      : `default (no ${localPolicy.file})`;
  };
  for (const s of localPolicySettings(localPolicy.policy))
    out[`localPolicy.${s.name}`] = {
      value: { value: s.value, effect: s.effect, note: s.note },
      source: policySource(s.isDefault),
    };
  const first = profiles.merged.hosts[0];
  if (first) {
    const prefs = profiles.merged.preferencesForHost(first.hostAddress);
    const file = basename(first.profileFile);
    for (const [key, value] of Object.entries(prefs.clientInitialization))
      out[`userProfile.${key}`] = { value, source: `profile ${file} (elements it omits take their defaults)` };
  }
  if (profiles.machine) {
    for (const [key, value] of Object.entries(profiles.machine.clientInitialization))
      out[`machineProfile.${key}`] = { value, source: 'management tunnel profile (forced values applied)' };
  }
  return out;
}
