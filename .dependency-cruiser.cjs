/**
 * The layer rule of docs/architecture.md#layers, checked on every `npm test` (`npm run
 * lint:layers`; test/layers.test.ts plants a violation of each rule and expects it flagged).
 * The graph it enforces, imports pointing down only:
 *
 *   apps/agent ─► engine, ipc/server, contract, certs, profile, connection, common
 *   apps/cli (local tools) ─► connection, anyconnect, tunnel, certs, profile, common
 *   apps/cli (api), ipc/client, the tray ─► ipc/client, signer, contract, certs, profile, common
 *   signer (the user's certificate signer) ─► ipc/client, contract, certs, common
 *   connection ─► anyconnect, tunnel, common
 *   anyconnect ─► certs ─► profile ─► xml ─► common (anyconnect also ─► xml);   tunnel ─► fdpoll ─► common
 *   anyconnect ─► dtls ─► fdpoll (the DTLS data channel: OpenSSL through koffi, UDP fds)
 *   engine ─► profile, common (and nothing else: every effect goes through its ports)
 *   ipc ─► contract ─► common
 *   diagnostics (the bundle format, assembled as the user) ─► contract, common
 *
 * apps/agent reaches the protocol and the host's network only through connection, and no app
 * imports another app. Production code never imports a testing entry (a package's fakes) nor
 * packages/testkit, the fixtures shared by tests.
 */
const pkg = (names) => `^packages/(${names})/`;
const AGENT_SIDE =
  '^packages/(engine|anyconnect|tunnel|fdpoll|dtls|connection)/|^packages/ipc/(src|dist)/server|^apps/agent/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'client-side-never-imports-agent-side',
      comment:
        'CLI API commands, the tray and the IPC client run as the user: no engine, protocol, tunnel or IPC server.',
      severity: 'error',
      from: { path: '^apps/cli/src/api/|^apps/tray/|^packages/ipc/src/client/|^packages/signer/' },
      to: { path: AGENT_SIDE },
    },
    { name: 'packages-never-import-apps', severity: 'error', from: { path: '^packages/' }, to: { path: '^apps/' } },
    {
      name: 'common-is-the-bottom',
      severity: 'error',
      from: { path: pkg('common') },
      to: { path: '^packages/(?!common/)' },
    },
    {
      name: 'xml-layer',
      comment: 'The guarded XML reader sits on common alone, below profile and anyconnect.',
      severity: 'error',
      from: { path: pkg('xml') },
      to: { path: '^packages/(?!(common|xml)/)' },
    },
    {
      name: 'contract-layer',
      severity: 'error',
      from: { path: pkg('contract') },
      to: { path: pkg('xml|profile|certs|anyconnect|tunnel|engine|ipc|diagnostics') },
    },
    {
      name: 'profile-layer',
      severity: 'error',
      from: { path: pkg('profile') },
      to: { path: pkg('certs|anyconnect|tunnel|engine|ipc|diagnostics|contract') },
    },
    {
      name: 'certs-layer',
      severity: 'error',
      from: { path: pkg('certs') },
      to: { path: pkg('anyconnect|tunnel|engine|ipc|diagnostics') },
    },
    {
      name: 'anyconnect-layer',
      severity: 'error',
      from: { path: pkg('anyconnect') },
      to: { path: pkg('tunnel|engine|ipc|diagnostics') },
    },
    {
      name: 'diagnostics-layer',
      comment:
        'The bundle format is neutral: written as the user by the CLI and the tray, fed by the agent; common and contract only.',
      severity: 'error',
      from: { path: pkg('diagnostics') },
      to: { path: '^packages/', pathNot: pkg('diagnostics|common|contract') },
    },
    {
      name: 'fdpoll-layer',
      comment: 'The fd readiness addon sits under the tunnel and knows only common.',
      severity: 'error',
      from: { path: pkg('fdpoll') },
      to: { path: '^packages/(?!common/|fdpoll/)' },
    },
    {
      name: 'dtls-layer',
      comment: 'The DTLS channel knows OpenSSL, UDP sockets and fd readiness: common and fdpoll only.',
      severity: 'error',
      from: { path: pkg('dtls') },
      to: { path: '^packages/(?!common/|fdpoll/|dtls/)' },
    },
    {
      name: 'tunnel-layer',
      severity: 'error',
      from: { path: pkg('tunnel') },
      to: { path: pkg('xml|profile|certs|anyconnect|engine|ipc|diagnostics') },
    },
    {
      name: 'ipc-layer',
      severity: 'error',
      from: { path: pkg('ipc') },
      to: { path: pkg('xml|profile|certs|anyconnect|tunnel|engine|diagnostics') },
    },
    {
      name: 'tray-layer',
      comment:
        "The tray is a client of the agent and the user's signer: ipc/client, contract, common, signer and the bundle format only.",
      severity: 'error',
      from: { path: '^apps/tray/' },
      to: {
        path: '^packages/',
        pathNot: `${pkg('contract|common|signer|diagnostics')}|^packages/ipc/(src|dist)/client`,
      },
    },
    {
      name: 'tray-window-is-browser-code',
      comment:
        "The tray's window runs sandboxed in Chromium: Preact, its own modules, the catalogues and the bridge's types. No Node, no schema code, no main-process module.",
      severity: 'error',
      from: { path: '^apps/tray/src/renderer/' },
      to: {
        pathNot: '^apps/tray/src/(renderer/|core/(bridge|i18n)\\.ts$|core/catalog/)|(^|/)node_modules/preact/',
      },
    },
    {
      name: 'signer-layer',
      comment:
        "The user's signer runs in the user's process: certs for the store, contract and ipc/client for the answers.",
      severity: 'error',
      from: { path: pkg('signer') },
      to: {
        path: '^packages/',
        pathNot: `${pkg('signer|certs|profile|xml|contract|common')}|^packages/ipc/(src|dist)/client`,
      },
    },
    {
      name: 'connection-layer',
      severity: 'error',
      from: { path: pkg('connection') },
      to: { path: pkg('engine|ipc|contract|diagnostics|certs|profile') },
    },
    {
      name: 'engine-imports-only-common-and-profile',
      comment: 'The engine is pure: its ports are implemented by the agent; it may use common and profile only.',
      severity: 'error',
      from: { path: pkg('engine') },
      to: { path: '^packages/', pathNot: pkg('engine|common|profile') },
    },
    {
      name: 'agent-reaches-protocol-and-network-through-connection',
      comment: 'One bring-up path: the agent uses @tandem/connection, never anyconnect or tunnel directly.',
      severity: 'error',
      from: { path: '^apps/agent/' },
      to: { path: pkg('anyconnect|tunnel') },
    },
    {
      name: 'apps-never-import-apps',
      comment: 'Shared code lives in a package; an app importing another app would ship both.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'production-never-imports-testing',
      comment:
        "Fakes live in a package's testing entry (src/testing.ts, imported as @tandem/<name>/testing) for tests only.",
      severity: 'error',
      from: { path: '^(packages|apps)/[^/]+/src/', pathNot: '/src/testing\\.ts$' },
      to: { path: '^packages/[^/]+/(src/testing\\.ts|dist/testing\\.js)$' },
    },
    {
      name: 'testkit-is-for-tests-only',
      comment: '@tandem/testkit (test PKI, skip checks, scripted gateway) is imported by tests, never by src/.',
      severity: 'error',
      from: { path: '^(packages|apps)/[^/]+/src/', pathNot: '^packages/testkit/' },
      to: { path: '^packages/testkit/' },
    },
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
      extensions: ['.ts', '.tsx', '.js', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
