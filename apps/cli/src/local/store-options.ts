/**
 * The option declarations of the certificate stores, apart from the code that opens them, so a
 * command can list the options without loading X.509 / PKCS#11 code until it needs it.
 */
import type { OptionSpec } from '../args.js';

/** parseArgs declarations of the shared options. */
export const STORE_OPTIONS: OptionSpec = {
  store: { type: 'string' },
  'machine-store': { type: 'string' },
  'user-store': { type: 'string' },
  'nss-db': { type: 'string' },
  'no-nss-db': { type: 'boolean' },
  'no-cisco-stores': { type: 'boolean' },
  'pkcs11-module': { type: 'string' },
  'pkcs11-token': { type: 'string' },
  'pkcs11-store': { type: 'string' },
  'pkcs11-pin-env': { type: 'string' },
  'passphrase-env': { type: 'string' },
  'insecure-machine-store': { type: 'boolean' },
  json: { type: 'boolean' },
};

/** Usage lines of the shared options. */
export const STORE_USAGE = `  --store machine|user|all   Stores to read (default all)
  --machine-store DIR        Machine store directory (default /etc/tandem/certs/machine; must be
                             root-owned and not group/other-writable)
  --user-store DIR           User store directory (default $XDG_CONFIG_HOME/tandem/certs)
  --nss-db DIR               NSS database read with the user store (default ~/.pki/nssdb); its
                             password is the PIN of --pkcs11-pin-env or the prompt
  --no-nss-db                Read no NSS database
  --no-cisco-stores          Skip Secure Client's certificate directories (~/.cisco/certificates/client,
                             /opt/.cisco/certificates/client), read by default
  --pkcs11-module PATH       Also read a PKCS#11 token through this module
  --pkcs11-token LABEL       Only the token with this label
  --pkcs11-store user|machine  Store the token counts as (default user)
  --pkcs11-pin-env VAR       Read the token PIN from environment variable VAR (else prompt on a
                             terminal; without one, only public objects are listed)
  --passphrase-env VAR       Passphrase for encrypted keys / PKCS#12 files from variable VAR
  --insecure-machine-store   Skip the machine store ownership check (tests only)
  --json                     Machine-readable output`;
