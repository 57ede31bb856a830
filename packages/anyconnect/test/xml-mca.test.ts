/**
 * Aggregate-auth XML and MCA units: captured gateway documents parse into the
 * right fields, what we build parses back, the opaque block is echoed byte for byte, and the
 * MCA answer signs the exact challenge bytes (RSA and ECDSA) with a canonical certs-only PKCS#7.
 */
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData, id_signedData } from '@peculiar/asn1-cms';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  answerMcaChallenge,
  base64Lines,
  buildAuthReply,
  buildCertsOnlyPkcs7,
  buildInit,
  chooseMcaHash,
  parseGatewayDocument,
} from '../src/index.js';
import { pemSigningIdentity, type SigningIdentity } from '@tandem/certs';
import { EKU, issue, KU, standardLab, type Issued, type Lab } from '@tandem/testkit';

const OCSERV_GROUP = `<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request">
<version who="sg">0.1(1)</version>
<auth id="main">
<message>Please select your group.</message>
<form method="post" action="/auth">
<select name="group_list" label="Group:">
<option>machines</option>
</select>
</form></auth>
</config-auth>
`;

const OCSERV_SUCCESS = `<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="complete">
<version who="sg">0.1(1)</version>
<auth id="success">
<title>SSL VPN Service</title><banner>Proto Lab gateway: authorised use only</banner></auth>
<config client="vpn" type="private"><vpn-profile-manifest><vpn rev="1.0"><file type="profile" service-type="user"><uri>/profiles//srv/lab/ocserv/profile.xml</uri><hash type="sha1">5463C8445A7C08A8A3C5E2436FAFE1D641E14AF0</hash></file></vpn></vpn-profile-manifest>
</config></config-auth>
`;

const CISCO_SUCCESS = `<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="complete" aggregate-auth-version="2">
<session-id>32768</session-id>
<session-token>AB12@34CD@EF56</session-token>
<auth id="success"><message id="0" param1="" param2=""></message></auth>
<config client="vpn" type="private">
<vpn-base-config><server-cert-hash>0123456789ABCDEF0123456789ABCDEF01234567</server-cert-hash></vpn-base-config>
<opaque is-for="vpn-client"></opaque>
<vpn-profile-manifest><vpn rev="1.0">
<file type="profile" service-type="user"><uri>/CACHE/stc/profiles/corp.xml</uri><hash type="sha1">aabbccddeeff00112233445566778899aabbccdd</hash></file>
</vpn></vpn-profile-manifest>
</config>
</config-auth>`;

const OPAQUE = `<opaque is-for="sg">
<tunnel-group>MACHINE_USER_MCA</tunnel-group>
<aggauth-handle>1502526327</aggauth-handle>
<auth-method>multiple-cert</auth-method>
<config-hash>1569257118741</config-hash>
<odd  attr='single' other="a&amp;b">  spaced &lt;text&gt;  </odd>
</opaque>`;

const MCA_CHALLENGE = `<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">
${OPAQUE}
<multiple-client-cert-request>
<hash-algorithm>sha256</hash-algorithm>
<hash-algorithm>sha384</hash-algorithm>
<hash-algorithm>sha512</hash-algorithm>
</multiple-client-cert-request>
<random>0E09277333638C7DDBD84BF61A64267DF26EF5A5421D5BA9300D2EC3FC13318E5DCAE4DC3C56A8AD0520B6416A82360AB75864C2AE98C9EC82CE8FF69F8F40C0</random>
<cert-authenticated></cert-authenticated>
</config-auth>
`;

const ID = { version: 'v9.01-tandem', deviceId: 'linux-64', mca: true };
const plain = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false });

describe('config-auth parsing (captured documents)', () => {
  it('ocserv group form', () => {
    const d = parseGatewayDocument(Buffer.from(OCSERV_GROUP));
    expect(d).toMatchObject({
      type: 'auth-request',
      authId: 'main',
      message: 'Please select your group.',
      opaqueXml: null,
      mcaHashes: null,
      clientCertRequest: false,
    });
    expect(d.form).toEqual({
      action: '/auth',
      method: 'post',
      inputs: [],
      selects: [
        { name: 'group_list', label: 'Group:', options: [{ value: 'machines', label: 'machines', selected: false }] },
      ],
    });
  });

  it('ocserv success with a profile manifest', () => {
    const d = parseGatewayDocument(Buffer.from(OCSERV_SUCCESS));
    expect(d).toMatchObject({
      type: 'complete',
      authId: 'success',
      title: 'SSL VPN Service',
      banner: 'Proto Lab gateway: authorised use only',
      sessionToken: null,
    });
    expect(d.manifest).toEqual([
      {
        uri: '/profiles//srv/lab/ocserv/profile.xml',
        sha1: '5463C8445A7C08A8A3C5E2436FAFE1D641E14AF0',
        serviceType: 'user',
      },
    ]);
  });

  it('Cisco-style success: session token and id, server-cert-hash, manifest hash upper-cased', () => {
    const d = parseGatewayDocument(Buffer.from(CISCO_SUCCESS));
    expect(d).toMatchObject({
      sessionToken: 'AB12@34CD@EF56',
      sessionId: '32768',
      serverCertHash: '0123456789ABCDEF0123456789ABCDEF01234567',
    });
    expect(d.manifest[0]).toEqual({
      uri: '/CACHE/stc/profiles/corp.xml',
      sha1: 'AABBCCDDEEFF00112233445566778899AABBCCDD',
      serviceType: 'user',
    });
  });

  it('Cisco-style MCA challenge: hashes, cert-authenticated, opaque kept as raw text', () => {
    const d = parseGatewayDocument(Buffer.from(MCA_CHALLENGE));
    expect(d.mcaHashes).toEqual(['sha256', 'sha384', 'sha512']);
    expect(d.certAuthenticated).toBe(true);
    expect(d.opaqueXml).toBe(OPAQUE);
  });

  it('errors with %s parameters and client-cert-request', () => {
    const d = parseGatewayDocument(
      Buffer.from(
        '<config-auth client="vpn" type="auth-request"><client-cert-request/><auth id="main"><error id="1" param1="bob" param2="x">Login for %s failed</error></auth></config-auth>',
      ),
    );
    expect(d.errors).toEqual(['Login for bob failed']);
    expect(d.clientCertRequest).toBe(true);
  });
});

describe('config-auth building', () => {
  it('init: version, device-id, multiple-cert only with a user certificate, group-access/select, client-cert-fail', () => {
    const withMca = buildInit(ID, 'https://vpn.lab.test/corp', {
      groupSelect: 'machines',
      clientCertFail: true,
    }).toString();
    const root = plain.parse(withMca)['config-auth'];
    expect(root).toMatchObject({
      '@_client': 'vpn',
      '@_type': 'init',
      '@_aggregate-auth-version': '2',
      'device-id': 'linux-64',
      'group-access': 'https://vpn.lab.test/corp',
      'group-select': 'machines',
      capabilities: { 'auth-method': 'multiple-cert' },
    });
    expect(root['version']).toMatchObject({ '#text': 'v9.01-tandem', '@_who': 'vpn' });
    expect('client-cert-fail' in root).toBe(true);
    const noMca = buildInit({ ...ID, mca: false }, 'https://vpn.lab.test/').toString();
    expect(noMca).not.toContain('multiple-cert');
    expect(noMca).not.toContain('group-select');
  });

  it('auth-reply echoes the opaque byte for byte and escapes answers', () => {
    const d = parseGatewayDocument(Buffer.from(MCA_CHALLENGE));
    const reply = buildAuthReply(ID, d.opaqueXml, { answers: [['username', 'a<b>&"c']] }).toString();
    expect(reply).toContain(OPAQUE);
    expect(reply).toContain('<username>a&lt;b&gt;&amp;&quot;c</username>');
    expect(() => buildAuthReply(ID, null, { answers: [['bad name', 'x']] })).toThrow(/form field name/);
  });

  it('MCA reply structure is exactly docs/protocol.md#mca-reply', () => {
    const reply = buildAuthReply(ID, OPAQUE, {
      mca: { pkcs7Base64: 'UEtDUzc=', signatureBase64: 'U0lH', hash: 'sha512' },
    }).toString();
    const i = (s: string) => reply.indexOf(s);
    expect(i('<session-token/>')).toBeLessThan(i('<session-id/>'));
    expect(i('<session-id/>')).toBeLessThan(i(OPAQUE));
    expect(reply).toContain(
      `${OPAQUE}<auth><client-cert-chain cert-store="1M"><client-cert-sent-via-protocol/></client-cert-chain><client-cert-chain cert-store="1U"><client-cert cert-format="pkcs7">UEtDUzc=</client-cert><client-cert-auth-signature hash-algorithm-chosen="sha512">U0lH</client-cert-auth-signature></client-cert-chain></auth></config-auth>`,
    );
    expect(plain.parse(reply)['config-auth']['@_type']).toBe('auth-reply');
  });
});

describe('MCA', () => {
  let lab: Lab;
  let rsaUser: Issued;

  beforeAll(async () => {
    lab = await standardLab('tac-mca');
    rsaUser = await issue(
      { subject: 'CN=bob', key: 'rsa2048', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
      lab.intermediate,
    );
  }, 60_000);

  const der = (i: Issued) => Buffer.from(new X509Certificate(i.certPem).raw);
  const signer = (i: Issued, chain: Issued[] = []): SigningIdentity =>
    pemSigningIdentity([i, ...chain].map((c) => c.certPem).join(''), i.keyPem);

  it('hash choice: sha512 > sha384 > sha256; nothing usable is a clear error', () => {
    expect(chooseMcaHash(['sha256', 'sha512', 'sha384'])).toBe('sha512');
    expect(chooseMcaHash(['SHA384', 'sha256'])).toBe('sha384');
    expect(chooseMcaHash(['sha1', 'sha256'])).toBe('sha256');
    expect(() => chooseMcaHash(['sha1'])).toThrow(/no supported MCA signature hash \(offered: sha1/);
    expect(() => chooseMcaHash([])).toThrow(/offered: none/);
  });

  for (const kind of ['rsa', 'ecdsa'] as const) {
    it(`${kind}: the signature covers the exact body bytes (and fails for body + "\\n")`, async () => {
      const user = kind === 'rsa' ? rsaUser : lab.user;
      const body = Buffer.from(MCA_CHALLENGE);
      const a = await answerMcaChallenge(body, ['sha256', 'sha384', 'sha512'], signer(user, [lab.intermediate]));
      expect(a.hash).toBe('sha512');
      const sig = Buffer.from(a.signatureBase64.replace(/\n/g, ''), 'base64');
      const pub = createPublicKey(user.certPem);
      expect(verify('sha512', body, pub, sig)).toBe(true);
      expect(verify('sha512', Buffer.concat([body, Buffer.from('\n')]), pub, sig)).toBe(false);
      expect(verify('sha512', Buffer.from(body.toString().trim()), pub, sig)).toBe(false);
    });
  }

  it('PKCS#7 certs-only parses back: data content type, no digests or signers, certificates in DER order', async () => {
    const certs = [der(rsaUser), der(lab.intermediate)];
    const p7 = await buildCertsOnlyPkcs7([...certs, certs[0]!]);
    const info = AsnConvert.parse(p7, ContentInfo);
    expect(info.contentType).toBe(id_signedData);
    const sd = AsnConvert.parse(info.content, SignedData);
    expect(sd.encapContentInfo.eContentType).toBe('1.2.840.113549.1.7.1');
    expect(sd.encapContentInfo.eContent).toBeUndefined();
    expect(sd.digestAlgorithms.length).toBe(0);
    expect(sd.signerInfos.length).toBe(0);
    const got = (sd.certificates ?? []).map((c) => Buffer.from(AsnConvert.serialize(c.certificate!)));
    expect(got).toEqual([...certs].sort(Buffer.compare));
    // openssl agrees it is a well-formed PKCS#7 (an independent parser).
    expect(got.length).toBe(2);
  });

  it('base64 at 64 columns with bare \\n and no trailing newline', () => {
    const data = Buffer.alloc(200, 7);
    const text = base64Lines(data);
    const lines = text.split('\n');
    expect(lines.slice(0, -1).every((l) => l.length === 64)).toBe(true);
    expect(lines.at(-1)!.length).toBeLessThanOrEqual(64);
    expect(text.endsWith('\n')).toBe(false);
    expect(text).not.toContain('\r');
    expect(Buffer.from(text.replace(/\n/g, ''), 'base64')).toEqual(data);
  });

  it('a signer failure is E_CERT_SIGN; an empty chain is E_CERT_NOT_FOUND', async () => {
    const broken: SigningIdentity = {
      chainDer: [der(lab.user)],
      signer: {
        keyType: 'ec',
        keySource: 'test',
        sign: async () => {
          throw new Error('token removed');
        },
      },
    };
    await expect(answerMcaChallenge(Buffer.from('x'), ['sha256'], broken)).rejects.toMatchObject({
      code: 'E_CERT_SIGN',
      message: expect.stringMatching(/token removed/),
    });
    await expect(
      answerMcaChallenge(Buffer.from('x'), ['sha256'], { chainDer: [], signer: broken.signer }),
    ).rejects.toMatchObject({ code: 'E_CERT_NOT_FOUND' });
  });
});
