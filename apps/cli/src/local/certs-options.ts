/**
 * Options shared by `tandem certs list` and `tandem certs select`: which stores to read, where
 * they are, an optional PKCS#11 token, and how secrets (PIN, passphrases) are obtained — from
 * a named environment variable or an interactive prompt, never from argv.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { redactor } from '@tandem/common';
import {
  closeStores,
  collectCandidates,
  linuxDefaultStores,
  Pkcs11Source,
  type CollectedCandidates,
  type SecretCallback,
  type StoreSet,
} from '@tandem/certs';
import type { ParsedArgs } from '../args.js';
import { UsageError } from '../io.js';

export { STORE_OPTIONS, STORE_USAGE } from './store-options.js';

function str(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a secret from the terminal without echo; null without a terminal. */
async function promptHidden(question: string): Promise<string | null> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return null;
  process.stderr.write(question);
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

function envSecret(values: ParsedArgs['values'], flag: string, env: NodeJS.ProcessEnv): string | null | undefined {
  const name = str(values, flag);
  if (name === undefined) return undefined;
  const v = env[name];
  if (v === undefined) throw new UsageError(`--${flag}: environment variable ${name} is not set`);
  return v;
}

/** The stores selected by the options, the `--store` choice, and a cleanup function. */
export interface ChosenStores {
  stores: StoreSet;
  which: 'machine' | 'user' | 'all';
  close(): Promise<void>;
}

/** Builds the store set from parsed options; throws UsageError on bad values. */
export function storesFromOptions(values: ParsedArgs['values'], env: NodeJS.ProcessEnv = process.env): ChosenStores {
  const which = str(values, 'store') ?? 'all';
  if (which !== 'machine' && which !== 'user' && which !== 'all')
    throw new UsageError(`--store must be machine, user or all (got "${which}")`);
  // Both variables are checked now, so a typo is a usage error rather than a silent prompt later.
  const passphrase = envSecret(values, 'passphrase-env', env);
  const pinFromEnv = envSecret(values, 'pkcs11-pin-env', env);
  const remember = (v: string | null): string | null => {
    // Every secret handed out is registered with the redactor, so no sink can print it.
    if (v) redactor.addSecret(v);
    return v;
  };
  const secret: SecretCallback = async (req) => {
    if (req.kind === 'pin') {
      return remember(pinFromEnv !== undefined ? pinFromEnv : await promptHidden(`PIN for ${req.origin}: `));
    }
    return remember(passphrase !== undefined ? passphrase : await promptHidden(`Passphrase for ${req.origin}: `));
  };
  const machineDir = str(values, 'machine-store');
  const userDir = str(values, 'user-store');
  const nssDb = str(values, 'nss-db');
  const noCisco = values['no-cisco-stores'] === true;
  const stores = linuxDefaultStores({
    secret,
    ...(machineDir ? { machineDir } : {}),
    ...(userDir ? { userDir } : {}),
    ...(values['no-nss-db'] === true ? { nssDb: null } : nssDb ? { nssDb } : {}),
    ...(noCisco ? { ciscoMachineDir: null, ciscoUserDir: null } : {}),
    insecureMachineStore: values['insecure-machine-store'] === true,
  });
  const module = str(values, 'pkcs11-module');
  if (module) {
    const tokenStore = str(values, 'pkcs11-store') ?? 'user';
    if (tokenStore !== 'user' && tokenStore !== 'machine')
      throw new UsageError('--pkcs11-store must be user or machine');
    const token = str(values, 'pkcs11-token');
    const src = new Pkcs11Source({ modulePath: module, pin: secret, ...(token ? { tokenLabel: token } : {}) });
    stores[tokenStore].push(src);
  }
  return { stores, which, close: () => closeStores(stores) };
}

/** Lists the chosen stores. */
export async function collect(chosen: ChosenStores): Promise<CollectedCandidates> {
  return collectCandidates(chosen.stores, chosen.which);
}
