/**
 * The layer rule must be able to fail: run dependency-cruiser with the project's rules on a
 * scratch tree that breaks each rule once, and on the real tree, which must be clean.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..');
const depcruise = join(repo, 'node_modules/.bin/depcruise');

async function cruise(cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(depcruise, ['--config', join(repo, '.dependency-cruiser.cjs'), 'packages', 'apps'], {
      cwd,
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

function put(root: string, file: string, text: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
}

describe('layer rule (dependency-cruiser)', () => {
  it('flags client-side code importing agent-side packages and upward imports', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-layers-'));
    copyFileSync(join(repo, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
    put(root, 'packages/tunnel/src/index.ts', 'export const tun = 1;\n');
    put(
      root,
      'packages/profile/src/index.ts',
      "import { tun } from '../../tunnel/src/index.js';\nexport const p = tun;\n",
    );
    put(root, 'packages/common/src/index.ts', 'export const c = 1;\n');
    put(
      root,
      'packages/fdpoll/src/index.ts',
      "import { tun } from '../../tunnel/src/index.js';\nexport const f = tun;\n",
    );
    put(root, 'packages/dtls/src/index.ts', "import { p } from '../../profile/src/index.js';\nexport const d = p;\n");
    put(root, 'packages/xml/src/index.ts', "import { p } from '../../profile/src/index.js';\nexport const x = p;\n");
    // The user's signer runs in the user's process: no tunnel (agent side), no engine.
    put(root, 'packages/engine/src/index.ts', 'export const e = 1;\n');
    put(
      root,
      'packages/signer/src/index.ts',
      "import { e } from '../../engine/src/index.js';\nimport { tun } from '../../tunnel/src/index.js';\nexport const s = e + tun;\n",
    );
    put(
      root,
      'apps/cli/src/api/status.ts',
      "import { tun } from '../../../../packages/tunnel/src/index.js';\nexport const s = tun;\n",
    );
    put(
      root,
      'apps/cli/src/local/connect.ts',
      "import { tun } from '../../../../packages/tunnel/src/index.js';\nexport const l = tun;\n",
    );
    const { code, out } = await cruise(root);
    expect(code).not.toBe(0);
    expect(out).toContain('client-side-never-imports-agent-side: apps/cli/src/api/status.ts');
    expect(out).toContain('profile-layer: packages/profile/src/index.ts');
    expect(out).toContain('fdpoll-layer: packages/fdpoll/src/index.ts');
    expect(out).toContain('xml-layer: packages/xml/src/index.ts');
    expect(out).toContain('dtls-layer: packages/dtls/src/index.ts');
    expect(out).toContain('signer-layer: packages/signer/src/index.ts → packages/engine/src/index.ts');
    expect(out).toContain('client-side-never-imports-agent-side: packages/signer/src/index.ts → packages/tunnel');
    // Local tools (in the caller's own process) may use the protocol and tunnel packages.
    expect(out).not.toContain('apps/cli/src/local/connect.ts');
  });

  it('flags the agent reaching anyconnect or tunnel directly, an app importing another, and an impure engine', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-layers-'));
    copyFileSync(join(repo, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
    for (const p of ['anyconnect', 'tunnel', 'connection', 'common', 'profile', 'certs'])
      put(root, `packages/${p}/src/index.ts`, `export const ${p} = 1;\n`);
    put(root, 'apps/cli/src/local/shared.ts', 'export const shared = 1;\n');
    put(
      root,
      'apps/agent/src/protocol.ts',
      "import { anyconnect } from '../../../packages/anyconnect/src/index.js';\nexport const a = anyconnect;\n",
    );
    put(
      root,
      'apps/agent/src/network.ts',
      "import { tunnel } from '../../../packages/tunnel/src/index.js';\nexport const n = tunnel;\n",
    );
    put(
      root,
      'apps/agent/src/fine.ts',
      "import { connection } from '../../../packages/connection/src/index.js';\nexport const f = connection;\n",
    );
    put(
      root,
      'apps/agent/src/borrow.ts',
      "import { shared } from '../../cli/src/local/shared.js';\nexport const b = shared;\n",
    );
    put(
      root,
      'packages/engine/src/impure.ts',
      "import { certs } from '../../certs/src/index.js';\nexport const e = certs;\n",
    );
    put(
      root,
      'packages/engine/src/pure.ts',
      "import { common } from '../../common/src/index.js';\nimport { profile } from '../../profile/src/index.js';\nexport const p = common + profile;\n",
    );
    const { code, out } = await cruise(root);
    expect(code).not.toBe(0);
    expect(out).toContain('agent-reaches-protocol-and-network-through-connection: apps/agent/src/protocol.ts');
    expect(out).toContain('agent-reaches-protocol-and-network-through-connection: apps/agent/src/network.ts');
    expect(out).toContain('apps-never-import-apps: apps/agent/src/borrow.ts');
    expect(out).toContain('engine-imports-only-common-and-profile: packages/engine/src/impure.ts');
    expect(out).not.toContain('apps/agent/src/fine.ts');
    expect(out).not.toContain('packages/engine/src/pure.ts');
  });

  it('flags production code importing a testing entry or the testkit, not those modules themselves', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-layers-'));
    copyFileSync(join(repo, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
    put(root, 'packages/common/src/index.ts', 'export const common = 1;\n');
    put(root, 'packages/engine/src/ports.ts', 'export const port = 1;\n');
    put(
      root,
      'packages/engine/src/testing.ts',
      "import { port } from './ports.js';\nimport { common } from '../../common/src/index.js';\nexport const fake = port + common;\n",
    );
    put(
      root,
      'apps/agent/src/wired.ts',
      "import { fake } from '../../../packages/engine/src/testing.js';\nexport const w = fake;\n",
    );
    put(root, 'packages/engine/src/engine.ts', "import { fake } from './testing.js';\nexport const e = fake;\n");
    put(
      root,
      'packages/testkit/src/pki.ts',
      "import { common } from '../../common/src/index.js';\nexport const pki = common;\n",
    );
    put(root, 'packages/testkit/src/index.ts', "export { pki } from './pki.js';\n");
    put(
      root,
      'packages/certs/src/lab.ts',
      "import { pki } from '../../testkit/src/index.js';\nexport const l = pki;\n",
    );
    const { code, out } = await cruise(root);
    expect(code).not.toBe(0);
    expect(out).toContain('production-never-imports-testing: apps/agent/src/wired.ts');
    expect(out).toContain('production-never-imports-testing: packages/engine/src/engine.ts');
    expect(out).not.toContain('packages/engine/src/testing.ts →');
    expect(out).toContain('testkit-is-for-tests-only: packages/certs/src/lab.ts');
    expect(out).not.toContain('packages/testkit/src/index.ts →');
  });

  it('keeps the bundle format neutral: common and contract only, usable by client-side code', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-layers-'));
    copyFileSync(join(repo, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
    for (const p of ['common', 'contract', 'certs', 'engine'])
      put(root, `packages/${p}/src/index.ts`, `export const ${p} = 1;\n`);
    put(
      root,
      'packages/diagnostics/src/writer.ts',
      "import { common } from '../../common/src/index.js';\nimport { contract } from '../../contract/src/index.js';\nexport const w = common + contract;\n",
    );
    put(
      root,
      'packages/diagnostics/src/collect.ts',
      "import { certs } from '../../certs/src/index.js';\nimport { engine } from '../../engine/src/index.js';\nexport const c = certs + engine;\n",
    );
    put(root, 'packages/diagnostics/src/index.ts', "export { w } from './writer.js';\n");
    put(
      root,
      'apps/cli/src/api/diag.ts',
      "import { w } from '../../../../packages/diagnostics/src/index.js';\nexport const d = w;\n",
    );
    const { code, out } = await cruise(root);
    expect(code).not.toBe(0);
    expect(out).toContain('diagnostics-layer: packages/diagnostics/src/collect.ts → packages/certs/src/index.ts');
    expect(out).toContain('diagnostics-layer: packages/diagnostics/src/collect.ts → packages/engine/src/index.ts');
    expect(out).not.toContain('packages/diagnostics/src/writer.ts →');
    // The bundle is written as the user: a client-side command may build one.
    expect(out).not.toContain('apps/cli/src/api/diag.ts');
  });

  it('finds no violation in the real tree', async () => {
    const { code, out } = await cruise(repo);
    expect(out).toContain('no dependency violations found');
    expect(code).toBe(0);
  });
});
