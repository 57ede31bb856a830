/**
 * @tandem/profile — reads AnyConnect / Secure Client XML profiles and local policies into the
 * typed model of model.ts (docs/profile.md), safely: size cap, no DTDs,
 * bounded depth and element count, positions on every warning and error.
 */
export * from './model.js';
export {
  parseProfile,
  parseLocalPolicy,
  parseAnyDocument,
  PROFILE_NAMESPACE,
  type ParseOptions,
  type AnyParsedDocument,
} from './parse.js';
export { loadProfileFile, readProfileBytes, type LoadOptions } from './load.js';
export {
  mergeProfiles,
  type MergedProfiles,
  type MergedHost,
  type MergeWarning,
  type HostPreferences,
  type ProfileSource,
} from './merge.js';
export { isManagementTunnelPath, MGMT_PROFILE_FILE } from './mgmt-tunnel.js';
export { defaultClientInitialization } from './client-init.js';
export {
  defaultLocalPolicy,
  localPolicySettings,
  thumbprintCachingRestricted,
  unsupportedSettings,
  type LocalPolicySetting,
  type PolicyEffect,
} from './local-policy-effects.js';
export { EKU_OIDS, KEY_USAGE_NAMES, DN_ATTRIBUTES } from './certificate-match.js';
