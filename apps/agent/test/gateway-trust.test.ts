/**
 * The agent's gateway trust anchors: the `--gateway-ca` file when given; otherwise nothing on
 * Linux (the default store stays), the OS roots on Windows and macOS (Node's system-store reader,
 * which packages/certs/test/stores-select.test.ts drives with fakes), and a typed error elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { gatewayTrust } from '../src/gateway-ca.js';

describe('gatewayTrust', () => {
  it('Linux without a CA file: undefined, so TLS keeps its default roots', async () => {
    expect(await gatewayTrust(null, 'linux')).toBeUndefined();
  });

  it('a CA file wins on every platform (and is checked as before)', async () => {
    await expect(gatewayTrust('/nonexistent/ca.pem', 'win32')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("Windows and macOS without a CA file get the system store's bundle (here Node answers with OpenSSL's); others refuse", async () => {
    for (const platform of ['win32', 'darwin']) expect(await gatewayTrust(null, platform)).toMatch(/BEGIN CERTIFICATE/);
    await expect(gatewayTrust(null, 'freebsd')).rejects.toMatchObject({ code: 'E_CERT_STORE' });
  });
});
