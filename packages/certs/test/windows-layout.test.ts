/**
 * The one CryptoAPI structure the Windows binding reads by hand, CERT_CONTEXT, checked without
 * Windows: its offsets against koffi's own layout of the C declaration (x64 alignment, which
 * these pointer-and-DWORD members share with Linux x64).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CERT_CONTEXT } from '../src/crypt32-api-windows.js';

const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');

describe('CERT_CONTEXT layout', () => {
  it('pbCertEncoded and cbCertEncoded where wincrypt.h puts them on 64-bit Windows', () => {
    const ctx = koffi.struct('TEST_CERT_CONTEXT', {
      dwCertEncodingType: 'uint32_t',
      pbCertEncoded: 'void *',
      cbCertEncoded: 'uint32_t',
      pCertInfo: 'void *',
      hCertStore: 'void *',
    });
    expect({
      size: koffi.sizeof(ctx),
      pbCertEncoded: koffi.offsetof(ctx, 'pbCertEncoded'),
      cbCertEncoded: koffi.offsetof(ctx, 'cbCertEncoded'),
    }).toEqual(CERT_CONTEXT);
  });
});
