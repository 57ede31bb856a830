/**
 * @tandem/contract — the local API between the agent (`tandemd`) and its clients (CLI, tray).
 *
 * One schema ({@link contract}) declares every method, event and reverse request with its
 * permission, params and result; the IPC server's router and the typed client are derived from
 * it. Runtime validators come from a tiny built-in kit ({@link validate}), so the contract has
 * no dependencies beyond `@tandem/common` (for the error codes).
 *
 * API changelog (within a major version, changes are additive only: new methods, new optional
 * params, new result fields, new events; a removal or a changed meaning bumps the major):
 *
 *   1.0  hello, status, hosts, stats, watch, connect, disconnect, machineTunnel.status/enable/
 *        disable, diagnostics.export (inline bytes), logs.tail; events state, log; reverse
 *        requests certs.list, certs.sign, prompt. Tunnel state is a union on `state` with an
 *        error `cause` carrying a stable E_* code.
 *   1.1  CertificateInfo (certs.list) carries optional `der` and `chain` (base64 DER): the agent
 *        needs the user certificate and its intermediates for MCA's PKCS#7.
 *   1.2  machineTunnel.status/enable/disable results carry optional `setBy` {uid, at}: the
 *        administrator's choice is saved by the agent and survives restarts.
 *   1.3  Limits the agent derives its frame caps from: `certs.list` offers at most 64
 *        certificates with at most 4 intermediates each, and a `certs.sign` signature is at most
 *        2,048 base64 characters (the largest legal answers are the frame caps; no real store or
 *        key comes near them). Clients offering more must trim.
 *   1.4  StatusSnapshot carries optional `network.trust` (trusted network detection's verdict),
 *        so a tray can show "trusted network" when no tunnel is needed.
 *   1.5  The `prompt` reverse request has the kind `banner` (the gateway's login banner: an answer
 *        with `cancelled: false` accepts it, anything else — `cancelled`, an error such as a
 *        1.4 client's E_IPC_PARAMS for the unknown kind, no answer in time — declines it, and the
 *        attempt fails with the new code E_BANNER_DECLINED). New reverse request `certs.choose`:
 *        the user picks the user certificate among the agent's verdicts (at most 64); a client
 *        that does not handle it (E_IPC_METHOD) gets the automatic choice.
 *
 *   2.0  `diagnostics.export` (one JSON document inline) is gone; the diagnostic bundle's agent
 *        side is `diagnostics.collect` (files redacted under the caller's per-bundle key, the
 *        bundle id stamped into the agent's log), `diagnostics.read` (1 MiB chunks) and
 *        `diagnostics.record` (verbose logging for `diag bundle --record`). Everything else is
 *        1.5 unchanged.
 *   2.1  StatusSnapshot's `network` carries optional `blocked` (Always-On's fail-closed block is
 *        in place) and `portal` (`detected` while a captive portal answers the probe).
 *   2.2  New method `signer.register`: the calling connection stands by as its user's
 *        certificate signer (the tray after `watch`), so the user profiles'
 *        `UntrustedNetworkPolicy` Connect can start that user's tunnel without a click. An older
 *        agent answers E_IPC_METHOD.
 */
export * from './schema.js';
export * from './shapes.js';
export * from './contract.js';
export * from './diagnostics.js';
export * from './stats-text.js';

/** The API major version; `hello` fails with E_VERSION_MISMATCH when the peers' majors differ. */
export const API_VERSION = 2;
/** The API minor version: features added within {@link API_VERSION}, see the changelog above. */
export const API_MINOR = 2;

/** Where tandemd listens unless told otherwise (Linux); the agent, the CLI and the tray share it. */
export const DEFAULT_SOCKET = '/run/tandem/tandemd.sock';
/** Where tandemd listens on macOS, which has no `/run`: `/var/run`, emptied at boot the same way. */
export const DARWIN_SOCKET = '/var/run/tandem/tandemd.sock';
/** Where tandemd listens on Windows: a local named pipe (no Unix sockets with peer credentials there). */
export const DEFAULT_PIPE = '\\\\.\\pipe\\tandem';

/** The agent's address on `platform` when nothing chose another: {@link DEFAULT_PIPE}, {@link DARWIN_SOCKET} or {@link DEFAULT_SOCKET}. */
export function defaultSocket(platform: string): string {
  if (platform === 'win32') return DEFAULT_PIPE;
  return platform === 'darwin' ? DARWIN_SOCKET : DEFAULT_SOCKET;
}

/**
 * `$TANDEM_SOCKET` when it is set and not empty, else the platform's {@link defaultSocket}.
 */
export function socketFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  // The tray's renderer shares this package and has no `process`.
  platform: string = typeof process === 'undefined' ? '' : process.platform,
): string {
  const fromEnv = env['TANDEM_SOCKET'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return defaultSocket(platform);
}
