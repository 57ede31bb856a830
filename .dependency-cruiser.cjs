/**
 * The layer rule of shared/design/ARCHITECTURE.md, checked on every `npm test`.
 * Imports only point down: common ← contract ← ipc; common ← xml ← profile ← certs ← anyconnect
 * (anyconnect also imports xml directly); common ← tunnel; engine/agent on top. Client-side
 * code (the CLI's API commands, the tray, the IPC client half) never reaches agent-side packages.
 */
const pkg = (names) => `^packages/(${names})/`;
const AGENT_SIDE = '^packages/(engine|anyconnect|tunnel|connection|diagnostics)/|^packages/ipc/(src|dist)/server|^apps/agent/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'client-side-never-imports-agent-side',
      comment: 'CLI API commands, the tray and the IPC client run as the user: no engine, protocol, tunnel or IPC server.',
      severity: 'error',
      from: { path: '^apps/cli/src/api/|^apps/tray/|^packages/ipc/src/client/' },
      to: { path: AGENT_SIDE },
    },
    { name: 'packages-never-import-apps', severity: 'error', from: { path: '^packages/' }, to: { path: '^apps/' } },
    { name: 'common-is-the-bottom', severity: 'error', from: { path: pkg('common') }, to: { path: '^packages/(?!common/)' } },
    { name: 'xml-layer', comment: 'The guarded XML reader sits on common alone, below profile and anyconnect.', severity: 'error', from: { path: pkg('xml') }, to: { path: '^packages/(?!(common|xml)/)' } },
    { name: 'contract-layer', severity: 'error', from: { path: pkg('contract') }, to: { path: pkg('xml|profile|certs|anyconnect|tunnel|engine|ipc|diagnostics') } },
    { name: 'profile-layer', severity: 'error', from: { path: pkg('profile') }, to: { path: pkg('certs|anyconnect|tunnel|engine|ipc|diagnostics|contract') } },
    { name: 'certs-layer', severity: 'error', from: { path: pkg('certs') }, to: { path: pkg('anyconnect|tunnel|engine|ipc|diagnostics') } },
    { name: 'anyconnect-layer', severity: 'error', from: { path: pkg('anyconnect') }, to: { path: pkg('tunnel|engine|ipc|diagnostics') } },
    { name: 'tunnel-layer', severity: 'error', from: { path: pkg('tunnel') }, to: { path: pkg('xml|profile|certs|anyconnect|engine|ipc|diagnostics') } },
    { name: 'ipc-layer', severity: 'error', from: { path: pkg('ipc') }, to: { path: pkg('xml|profile|certs|anyconnect|tunnel|engine|diagnostics') } },
    { name: 'connection-layer', severity: 'error', from: { path: pkg('connection') }, to: { path: pkg('engine|ipc|contract|diagnostics|certs|profile') } },
    { name: 'engine-layer', severity: 'error', from: { path: pkg('engine') }, to: { path: '^packages/ipc/' } },
    {
      name: 'declared-dependencies-only',
      comment: 'Every npm or workspace import must be declared in the importing package.json.',
      severity: 'error',
      from: { path: '^(packages|apps)/[^/]+/src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|test|node_modules)/|\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['tandem-source', 'import', 'types', 'default'],
      extensions: ['.ts', '.js', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
