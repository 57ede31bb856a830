/**
 * The agent's gateway trust anchors: the `--gateway-ca` file when given; otherwise nothing on
 * Linux (the default store stays), the OS roots on Windows and macOS (whose readers
 * packages/certs/test/stores-select.test.ts drives), and a typed error elsewhere.
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

  it('Windows and macOS without a CA file read the OS store (unreadable here: E_CERT_STORE); others refuse', async () => {
    for (const platform of ['win32', 'darwin', 'freebsd'])
      await expect(gatewayTrust(null, platform)).rejects.toMatchObject({ code: 'E_CERT_STORE' });
  });
});
