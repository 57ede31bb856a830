/**
 * @tandem/certs — the certificate model, stores (directories, PKCS#11 tokens, NSS databases; the
 * Windows certificate stores and macOS keychains, loaded only there), explainable
 * certificate selection for AnyConnect profiles, signers and Entra binding strings.
 * See packages/certs/README.md.
 */
export * from './dn.js';
export * from './model.js';
export * from './bindings.js';
export * from './signer.js';
export * from './source.js';
export { DirectorySource, type DirectorySourceOptions } from './source-dir.js';
export { Pkcs11Source, DEFAULT_PKCS11_ENGINE, pkcs11UriEncode, type Pkcs11SourceOptions } from './source-pkcs11.js';
export { Pkcs11Signer, ecdsaRawToDer } from './pkcs11-signer.js';
export {
  NssDbSource,
  NSS_DB_TOKEN,
  NSS_SOFTOKEN_PATHS,
  findSoftoken,
  nssInitArgs,
  type NssDbSourceOptions,
} from './source-nss.js';
export * from './match-rules.js';
export * from './chain.js';
export * from './select.js';
export * from './stores.js';
export { defaultStores, selectionPlatform } from './stores-select.js';
export { systemTrustRoots } from './trust-roots.js';
// Types only: the platform modules themselves load through stores-select.ts on their platform.
export type { WindowsStoreSource, WindowsStoreSourceOptions } from './source-windows.js';
export type { KeychainSource, KeychainSourceOptions } from './source-darwin.js';
export type { CngSigner } from './signer-windows.js';
export type { KeychainSigner } from './signer-darwin.js';
