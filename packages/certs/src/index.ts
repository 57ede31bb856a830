/**
 * @tandem/certs — the certificate model, stores (directories, PKCS#11 tokens), explainable
 * certificate selection for AnyConnect profiles, signers and Entra binding strings.
 * See packages/certs/README.md.
 */
export * from './dn.js';
export * from './model.js';
export * from './bindings.js';
export * from './signer.js';
export * from './source.js';
export { DirectorySource, type DirectorySourceOptions } from './source-dir.js';
