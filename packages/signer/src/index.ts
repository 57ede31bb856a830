/**
 * @tandem/signer — the user's certificate signer, shared by the `tandem` CLI and the tray: it
 * answers the agent's `certs.list` / `certs.sign` reverse requests from the user's own store.
 */
export * from './signer.js';
