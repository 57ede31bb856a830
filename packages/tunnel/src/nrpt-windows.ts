/**
 * Name Resolution Policy Table rules for a Windows tunnel: which names the DNS client must ask
 * the tunnel's servers — every name (`.`) for a full tunnel, the split-DNS domains otherwise.
 * A rule is a registry key named by a GUID under the DNS client's local policy key; its name is
 * journaled before the key is created, so a disconnect or a crash recovery deletes exactly our
 * keys. The keys are also created volatile: whatever happens, a reboot does not keep them.
 *
 * Local rules are ignored while group policy supplies NRPT rules (DirectAccess, managed
 * estates); writing to the group-policy key in that case is not done here.
 */
import { randomUUID } from 'node:crypto';
import type { NrptApi, RegistryValue } from './nrpt-api-windows.js';
import { isGone, win32Error, win32Text, Win32 } from './win32-error-windows.js';

/** Where the DNS client reads its local NRPT rules (under HKEY_LOCAL_MACHINE). */
export const NRPT_PARENT = 'SYSTEM\\CurrentControlSet\\Services\\Dnscache\\Parameters\\DnsPolicyConfig';

/** The DNS client does not take more namespaces than this in one rule. */
export const DOMAINS_PER_RULE = 50;

const KEY_NAME = /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/;

/** NRPT's ConfigOptions bit "use GenericDNSServers". */
const GENERIC_DNS_SERVERS = 0x8;

/** One rule: the key that holds it, the namespaces it matches, the servers it sends them to. */
export interface NrptRule {
  key: string;
  namespaces: string[];
  servers: string[];
}

/** A new rule key name. */
export function newRuleKey(): string {
  return `{${randomUUID().toUpperCase()}}`;
}

/** True for a key name this module makes (a repair refuses to delete anything else). */
export function isRuleKey(name: string): boolean {
  return KEY_NAME.test(name);
}

/**
 * The rules for a tunnel's DNS `servers`: one `.` rule when `domains` is 'all', else one rule per
 * {@link DOMAINS_PER_RULE} domains (NRPT namespaces carry a leading dot). None without servers.
 */
export function planNrptRules(servers: string[], domains: 'all' | string[], newKey = newRuleKey): NrptRule[] {
  if (servers.length === 0) return [];
  if (domains === 'all') return [{ key: newKey(), namespaces: ['.'], servers }];
  const rules: NrptRule[] = [];
  for (let i = 0; i < domains.length; i += DOMAINS_PER_RULE)
    rules.push({ key: newKey(), namespaces: domains.slice(i, i + DOMAINS_PER_RULE).map((d) => `.${d}`), servers });
  return rules;
}

/** Writes one rule (its key name already journaled). Throws E_NETCONFIG naming the failed call. */
export function writeNrptRule(api: NrptApi, rule: NrptRule, comment: string): void {
  if (!isRuleKey(rule.key)) throw win32Error('RegCreateKeyExW', rule.key, Win32.INVALID_PARAMETER);
  // The parent is made non-volatile first: created volatile as a side effect of ours, it would
  // keep anyone else from adding a rule under it until the next reboot.
  const parent = api.RegCreateKeyExW(NRPT_PARENT, false);
  if (parent.status !== Win32.SUCCESS) throw win32Error('RegCreateKeyExW', NRPT_PARENT, parent.status);
  api.RegCloseKey(parent.key);
  const path = `${NRPT_PARENT}\\${rule.key}`;
  const created = api.RegCreateKeyExW(path, true);
  if (created.status !== Win32.SUCCESS) throw win32Error('RegCreateKeyExW', path, created.status);
  const values: Array<[string, RegistryValue]> = [
    ['Version', { type: 'REG_DWORD', data: 2 }],
    ['Name', { type: 'REG_MULTI_SZ', data: rule.namespaces }],
    ['GenericDNSServers', { type: 'REG_SZ', data: rule.servers.join(';') }],
    ['ConfigOptions', { type: 'REG_DWORD', data: GENERIC_DNS_SERVERS }],
    ['IPSECCARestriction', { type: 'REG_SZ', data: '' }],
    ['DisplayName', { type: 'REG_SZ', data: 'Tandem' }],
    ['Comment', { type: 'REG_SZ', data: comment }],
  ];
  try {
    for (const [name, value] of values) {
      const status = api.RegSetValueExW(created.key, name, value);
      if (status !== Win32.SUCCESS) throw win32Error('RegSetValueExW', `${rule.key} ${name}`, status);
    }
  } finally {
    api.RegCloseKey(created.key);
  }
}

/** Deletes one of our rule keys: `removed`, `gone` (not there), or the failure's text. */
export function removeNrptRule(api: NrptApi, key: string): 'removed' | 'gone' | string {
  if (!isRuleKey(key)) return `refused to delete ${JSON.stringify(key)}: not an NRPT rule key of ours`;
  const status = api.RegDeleteKeyExW(`${NRPT_PARENT}\\${key}`);
  if (status === Win32.SUCCESS) return 'removed';
  return isGone(status) ? 'gone' : win32Text('RegDeleteKeyExW', key, status);
}

/**
 * Makes the DNS client apply the changed rules now and forget answers cached under the old ones.
 * Returns the failures (the rules are in place either way; the client also rereads them itself).
 */
export function refreshDnsPolicy(api: NrptApi): string[] {
  const failures: string[] = [];
  const status = api.RefreshPolicyEx();
  if (status !== Win32.SUCCESS) failures.push(win32Text('RefreshPolicyEx', 'machine', status));
  if (!api.DnsFlushResolverCache()) failures.push('DnsFlushResolverCache returned FALSE');
  return failures;
}
