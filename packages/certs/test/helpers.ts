/**
 * Shared helpers of the certs tests: profile `ClientInitialization` builders and candidate
 * loading through the real directory source.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirectorySource, type SelectionCandidate, type StoreLabel } from '../src/index.js';
import {
  defaultClientInitialization,
  type CertificateMatch,
  type ClientInitialization,
  type DistinguishedNameRule,
} from '@tandem/profile';
import type { Issued } from '@tandem/testkit';

/** A ClientInitialization with defaults, a CertificateMatch (or null) and store overrides. */
export function init(
  match: Partial<CertificateMatch> | null,
  over: Partial<Record<'store' | 'storeLinux' | 'storeMac', string>> & { override?: boolean; automatic?: boolean } = {},
): ClientInitialization {
  const ci = defaultClientInitialization();
  ci.certificateMatch =
    match === null
      ? null
      : {
          keyUsage: [],
          extendedKeyUsage: [],
          extendedKeyUsageNames: [],
          customExtendedKeyUsage: [],
          distinguishedName: [],
          matchOnlyCertsWithKU: false,
          matchOnlyCertsWithEKU: false,
          unusableRules: [],
          ...match,
        };
  if (over.store) ci.certificateStore = { value: over.store as 'All', source: 'file' };
  if (over.storeLinux) ci.certificateStoreLinux = { value: over.storeLinux as 'All', source: 'file' };
  if (over.storeMac) ci.certificateStoreMac = { value: over.storeMac as 'All', source: 'file' };
  if (over.override !== undefined) ci.certificateStoreOverride = { value: over.override, source: 'file' };
  if (over.automatic !== undefined) ci.automaticCertSelection = { value: over.automatic, source: 'file' };
  return ci;
}

/** A DN rule as the profile parser produces it. */
export function dnRule(
  name: string,
  pattern: string,
  opts: { operator?: 'Equal' | 'NotEqual'; wildcard?: boolean; matchCase?: boolean } = {},
): DistinguishedNameRule {
  const issuer = name.startsWith('ISSUER-');
  return {
    name,
    issuer,
    attribute: issuer ? name.slice(7) : name,
    pattern,
    operator: opts.operator ?? 'Equal',
    wildcard: opts.wildcard ?? false,
    matchCase: opts.matchCase ?? true,
    line: 1,
  };
}

/** How a test certificate's key is stored beside it. */
export type KeyMode = 'own' | 'none' | 'other';

/**
 * Writes `issued` (+ chain) into `dir` as NAME.crt with NAME.key per `keyMode` and returns the
 * candidate the directory source reads back for it.
 */
export async function candidateFrom(
  dir: string,
  name: string,
  issued: Issued,
  store: StoreLabel,
  keyMode: KeyMode,
  other: Issued,
  chain: Issued[] = [],
): Promise<SelectionCandidate> {
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, `${name}.crt`), issued.certPem + chain.map((c) => c.certPem).join(''));
  if (keyMode !== 'none')
    writeFileSync(join(sub, `${name}.key`), keyMode === 'own' ? issued.keyPem : other.keyPem, { mode: 0o600 });
  const src = new DirectorySource(sub);
  const entries = await src.list();
  if (entries.length !== 1) throw new Error(`expected one entry in ${sub}: ${JSON.stringify(src.diagnostics())}`);
  const e = entries[0]!;
  return { model: e.model, chain: e.chain, store, entry: e };
}
