/**
 * The reference documentation of Tandem's programs, generated from what they run on: the
 * description (describe.ts), man pages (man-pages.ts over roff.ts) and shell completions. Used by
 * `tandem completion` and by scripts/package/gen-docs.mjs.
 */
export { byName, describeCommand, describeCommands, describeProgram, describeTandem } from './describe.js';
export type { CommandDoc, OptionDoc, ProgramDoc, ValueKind } from './describe.js';
export { optionDrift, usageOptions, usageParts } from './usage-text.js';
export { labGatewayManPage, tandemdManPage, tandemManPage, type AgentPaths, type PageStamp } from './man-pages.js';
export { renderManPage, roffText, type ManPage } from './roff.js';
export { bashCompletion } from './completion-bash.js';
export { zshCompletion } from './completion-zsh.js';
export { fishCompletion } from './completion-fish.js';
