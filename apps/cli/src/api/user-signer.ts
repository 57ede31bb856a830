/**
 * The `tandem` command's options for the user's certificate signer (@tandem/signer): where the
 * user's certificates are and where PINs and passphrases come from (an environment variable
 * named on the command line, else the terminal).
 */
import { redactor } from '@tandem/common';
import type { SecretCallback } from '@tandem/certs';
import { createUserSigner, type Notify, type UserSigner } from '@tandem/signer';
import type { OptionSpec, ParsedArgs } from '../args.js';
import { UsageError } from '../io.js';
import { ask } from './terminal.js';

/** parseArgs declarations of the user store options. */
export const SIGNER_OPTIONS: OptionSpec = {
  'user-store': { type: 'string' },
  'nss-db': { type: 'string' },
  'no-nss-db': { type: 'boolean' },
  'no-cisco-stores': { type: 'boolean' },
  'pkcs11-module': { type: 'string' },
  'pkcs11-token': { type: 'string' },
  'pkcs11-pin-env': { type: 'string' },
  'passphrase-env': { type: 'string' },
};

/** Usage lines of {@link SIGNER_OPTIONS}. */
export const SIGNER_USAGE = `  --user-store DIR           Your certificate store (default $XDG_CONFIG_HOME/tandem/certs)
  --nss-db DIR               Your NSS database, also read (default ~/.pki/nssdb); its password
                             is asked as a PIN
  --no-nss-db                Read no NSS database
  --no-cisco-stores          Skip Secure Client's directory ~/.cisco/certificates/client
  --pkcs11-module PATH       Also offer certificates from a PKCS#11 token (smart card, HSM)
  --pkcs11-token LABEL       Only the token with this label
  --pkcs11-pin-env VAR       Token PIN from environment variable VAR (else asked on the terminal)
  --passphrase-env VAR       Passphrase of encrypted keys / PKCS#12 files from variable VAR`;

function str(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A secret from the named environment variable (checked now, so a typo fails early), else asked. */
function secretCallback(values: ParsedArgs['values'], env: NodeJS.ProcessEnv): SecretCallback {
  const fromEnv = (flag: string): string | undefined => {
    const name = str(values, flag);
    if (name === undefined) return undefined;
    const v = env[name];
    if (v === undefined) throw new UsageError(`--${flag}: environment variable ${name} is not set`);
    return v;
  };
  const pin = fromEnv('pkcs11-pin-env');
  const passphrase = fromEnv('passphrase-env');
  return async (req) => {
    const given = req.kind === 'pin' ? pin : passphrase;
    const value = given ?? (await ask(`${req.kind === 'pin' ? 'PIN' : 'Passphrase'} for ${req.origin}: `, true));
    // Registered before use so no error text or JSON document can ever carry it.
    if (value) redactor.addSecret(value);
    return value;
  };
}

/**
 * Builds the user's signer from the command's options; throws UsageError on bad values (an
 * unset PIN or passphrase variable fails here, before the agent is asked anything).
 */
export function userSigner(
  values: ParsedArgs['values'],
  notify: Notify,
  env: NodeJS.ProcessEnv = process.env,
): UserSigner {
  const userDir = str(values, 'user-store');
  const nssDb = str(values, 'nss-db');
  const modulePath = str(values, 'pkcs11-module');
  const tokenLabel = str(values, 'pkcs11-token');
  return createUserSigner({
    secret: secretCallback(values, env),
    notify,
    ...(userDir ? { userDir } : {}),
    ...(values['no-nss-db'] === true ? { nssDb: null } : nssDb ? { nssDb } : {}),
    ...(values['no-cisco-stores'] === true ? { ciscoUserDir: null } : {}),
    ...(modulePath ? { pkcs11: { modulePath, ...(tokenLabel ? { tokenLabel } : {}) } } : {}),
  });
}
