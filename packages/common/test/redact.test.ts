import { describe, expect, it } from 'vitest';
import { Redactor, REDACTED, createLogger, RingSink, TandemError, isTandemError, ErrorCodes } from '@tandem/common';

describe('Redactor', () => {
  it('masks cookies, private keys, DTLS secrets and PKCS#11 PINs by shape', () => {
    const r = new Redactor();
    const text = [
      'Set-Cookie: webvpn=AKgwc0uzV5F09ZLBuolbp0Qc; Secure',
      'X-DTLS-Master-Secret: 97FD753D1BAC2D01C7BCED',
      'pkcs11:token=a;object=b;pin-value=123456',
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----',
      '<session-token>abc@def@123</session-token>',
    ].join('\n');
    const out = r.string(text);
    expect(out).not.toContain('AKgwc0uzV5F09ZLBuolbp0Qc');
    expect(out).not.toContain('97FD753D1BAC2D01C7BCED');
    expect(out).not.toContain('123456');
    expect(out).not.toContain('MIIEvQIBADANBg');
    expect(out).not.toContain('abc@def@123');
    expect(out.split(REDACTED).length - 1).toBe(5);
  });

  it('masks Authorization and Cookie headers, password values and JWTs, but not a PKCS#11 token label', () => {
    const r = new Redactor();
    const hits = new Map<string, number>();
    const out = r.string(
      [
        'Authorization: Basic YWxpY2U6c2VjcmV0',
        'Cookie: webvpn_context=Zm9vYmFy; other=1',
        'VPN_PASSWORD=hunter2 passphrase: "open sesame"',
        'bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig',
        'pkcs11:token=SoftHSM%20lab;object=user;pin-value=0000',
      ].join('\n'),
      hits,
    );
    for (const secret of ['YWxpY2U6c2VjcmV0', 'Zm9vYmFy', 'hunter2', 'open sesame', 'eyJhbGciOiJIUzI1NiJ9', '0000'])
      expect(out).not.toContain(secret);
    expect(out).toContain('pkcs11:token=SoftHSM%20lab;object=user');
    expect(Object.fromEntries(hits)).toMatchObject({
      'http-authorization': 1,
      'http-cookie': 1,
      'password-value': 2,
      jwt: 1,
      'pkcs11-pin': 1,
    });
    // Text that passes twice is masked once, not counted again (every rule, the first test's too).
    const again = new Map<string, number>();
    expect(r.string(out, again)).toBe(out);
    const first = r.string(
      'X-DTLS-Master-Secret: 97FD\n<session-token>t</session-token><password>p</password>\n' +
        '<client-cert-auth-signature hash-algorithm-chosen="sha256">c2ln</client-cert-auth-signature>',
    );
    expect(r.string(first, again)).toBe(first);
    expect(again.size).toBe(0);
  });

  it('masks registered run-time secrets anywhere and secret-named fields in objects', () => {
    const r = new Redactor();
    r.addSecret('CANARY-7f3e9a');
    const v = r.value({ note: 'got CANARY-7f3e9a from gw', cookie: 'x', nested: [{ passphrase: 'p' }], mtu: 1400 });
    expect(JSON.stringify(v)).not.toContain('CANARY-7f3e9a');
    expect(v).toEqual({
      note: `got ${REDACTED} from gw`,
      cookie: REDACTED,
      nested: [{ passphrase: REDACTED }],
      mtu: 1400,
    });
  });

  it('counts what each rule masked when asked, with the same output as without counting', () => {
    const r = new Redactor();
    r.addSecret('PASSPHRASE-XYZ');
    const text = 'webvpn=AAAA; webvpnc=BBBB\nkey PASSPHRASE-XYZ twice PASSPHRASE-XYZ\n<password>p</password>';
    const hits = new Map<string, number>();
    const out = r.string(text, hits);
    expect(out).toBe(r.string(text));
    expect(out).toContain(`webvpn=${REDACTED}; webvpnc=${REDACTED}`);
    expect(out).toContain(`<password>${REDACTED}</password>`);
    expect(Object.fromEntries(hits)).toEqual({ 'registered-secret': 2, 'session-cookie': 2, 'xml-password': 1 });
  });

  it('logger records pass through the redactor', () => {
    const ring = new RingSink();
    const r = new Redactor();
    r.addSecret('SECRET-COOKIE-VALUE');
    const log = createLogger({ sinks: [ring.sink], redactor: r, level: 'debug' }).child('auth');
    log.debug('cookie SECRET-COOKIE-VALUE received', { password: 'hunter2', host: 'gw' });
    const [rec] = ring.records();
    expect(rec?.scope).toBe('auth');
    expect(JSON.stringify(rec)).not.toContain('SECRET-COOKIE-VALUE');
    expect(JSON.stringify(rec)).not.toContain('hunter2');
    expect(rec?.fields).toEqual({ password: REDACTED, host: 'gw' });
  });
});

describe('TandemError', () => {
  it('carries a stable code and is recognised by brand', () => {
    const e = new TandemError(ErrorCodes.PROFILE_INVALID, 'bad', { details: { line: 3 } });
    expect(isTandemError(e)).toBe(true);
    expect(isTandemError(e, ErrorCodes.PROFILE_INVALID)).toBe(true);
    expect(isTandemError(e, ErrorCodes.USAGE)).toBe(false);
    expect(isTandemError(new Error('x'))).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'E_PROFILE_INVALID', message: 'bad', details: { line: 3 } });
  });
});
