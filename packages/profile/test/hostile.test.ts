import { describe, expect, it } from 'vitest';
import { isTandemError, type TandemError } from '@tandem/common';
import { parseAnyDocument, parseProfile } from '@tandem/profile';
import { fixture } from './helpers.js';

const SMALL = '<?xml version="1.0" encoding="UTF-8"?>\n<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">\n  <ClientInitialization>\n    <CertificateStoreLinux>User</CertificateStoreLinux>\n    <Bogus/>\n  </ClientInitialization>\n  <ServerList><HostEntry><HostName>vpn.example.com</HostName></HostEntry></ServerList>\n</AnyConnectProfile>\n';

function utf16be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) {
    const a = le[i]!;
    le[i] = le[i + 1]!;
    le[i + 1] = a;
  }
  return le;
}

/** Runs `fn`, asserts it throws E_PROFILE_INVALID within 1 s, and returns the error. */
function rejects(fn: () => unknown): TandemError & { elapsed: number } {
  const start = performance.now();
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  const elapsed = performance.now() - start;
  expect(isTandemError(caught, 'E_PROFILE_INVALID'), `expected E_PROFILE_INVALID, got ${String(caught)}`).toBe(true);
  expect(elapsed).toBeLessThan(1000);
  return Object.assign(caught as TandemError, { elapsed });
}

describe('encodings and line endings are accepted', () => {
  const check = (bytes: Buffer) => {
    const { document, warnings } = parseProfile(bytes, { file: 'p.xml' });
    expect(document.clientInitialization.certificateStoreLinux.value).toBe('User');
    expect(document.serverList[0]?.hostName).toBe('vpn.example.com');
    // Positions are per logical line whatever the encoding or line ending.
    expect(warnings).toEqual([expect.objectContaining({ line: 5, column: 5, kind: 'unknown-element' })]);
  };
  it('UTF-8 with LF', () => check(Buffer.from(SMALL)));
  it('CRLF', () => check(Buffer.from(SMALL.replace(/\n/g, '\r\n'))));
  it('UTF-8 BOM', () => check(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SMALL)])));
  it('UTF-16LE with BOM', () => check(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SMALL, 'utf16le')])));
  it('UTF-16LE without BOM (sniffed)', () => check(Buffer.from(SMALL, 'utf16le')));
  it('UTF-16BE with BOM', () => check(Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(SMALL)])));
  it('UTF-16BE without BOM (sniffed), CRLF', () => check(utf16be(SMALL.replace(/\n/g, '\r\n'))));
  it('the five predefined entities, numeric references and CDATA are decoded', () => {
    const xml = '<AnyConnectProfile><ServerList><HostEntry><HostName>A &amp; B &#x41;&#66; &lt;x&gt;<![CDATA[ & more]]></HostName><HostAddress>h.example.com</HostAddress></HostEntry></ServerList></AnyConnectProfile>';
    expect(parseProfile(Buffer.from(xml)).document.serverList[0]?.hostName).toBe('A & B AB <x> & more');
  });
});

describe('hostile input is rejected fast with a positioned E_PROFILE_INVALID', () => {
  it('DOCTYPE (any case, anywhere)', () => {
    const e = rejects(() => parseProfile(Buffer.from('<?xml version="1.0"?>\n<!doctype AnyConnectProfile>\n<AnyConnectProfile/>'), { file: 'd.xml' }));
    expect(e.message).toBe('d.xml:2:1: <!DOCTYPE is not allowed in a profile (DTDs and entities are refused)');
    expect(e.details).toMatchObject({ file: 'd.xml', line: 2, column: 1 });
    const inComment = rejects(() => parseProfile(Buffer.from('<AnyConnectProfile><!-- <!ENTITY x "y"> --></AnyConnectProfile>')));
    expect(inComment.message).toContain('<!ENTITY');
  });

  it('billion laughs', () => {
    const lol = ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', '<!ENTITY lol "lol">'];
    for (let i = 1; i < 10; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    lol.push(']>', '<AnyConnectProfile>&lol9;</AnyConnectProfile>');
    const e = rejects(() => parseProfile(Buffer.from(lol.join('\n')), { file: 'lol.xml' }));
    expect(e.details).toMatchObject({ line: 2, column: 1 });
  });

  it('external entity (XXE)', () => {
    const xxe = '<?xml version="1.0"?>\n<!DOCTYPE p [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n<AnyConnectProfile>&xxe;</AnyConnectProfile>';
    expect(rejects(() => parseProfile(Buffer.from(xxe))).message).toMatch(/:2:1: <!DOCTYPE/);
  });

  it('an undefined entity reference without a DTD', () => {
    const e = rejects(() => parseProfile(Buffer.from('<AnyConnectProfile>\n  <X>&xxe;</X></AnyConnectProfile>'), { file: 'e.xml' }));
    expect(e.message).toMatch(/^e\.xml:2:6: undefined entity &xxe;/);
  });

  it('numeric references are bounded: too long or not an XML character', () => {
    expect(rejects(() => parseProfile(Buffer.from('<a>&#x0000000041;</a>'))).message).toContain("'&'");
    expect(rejects(() => parseProfile(Buffer.from('<a>&#0;</a>'))).message).toContain('not a legal XML character');
  });

  it('50 MiB file (size cap before anything else)', () => {
    const huge = Buffer.alloc(50 * 1024 * 1024, 0x20);
    huge.write('<AnyConnectProfile>', 0);
    const e = rejects(() => parseProfile(huge, { file: 'big.xml' }));
    expect(e.message).toContain('limited to 1048576 bytes');
  });

  it('100k-deep nesting is refused at depth 33 without recursion', () => {
    const deep = Buffer.from(`<AnyConnectProfile>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</AnyConnectProfile>`);
    expect(deep.length).toBeLessThan(1024 * 1024);
    const e = rejects(() => parseProfile(deep, { file: 'deep.xml' }));
    expect(e.message).toBe(`deep.xml:1:${20 + 31 * 3}: elements nested deeper than 32 levels`);
    expect(e.elapsed).toBeLessThan(50);
  });

  it('more than 10,000 elements', () => {
    const many = Buffer.from(`<AnyConnectProfile>${'<a/>'.repeat(10_001)}</AnyConnectProfile>`);
    expect(rejects(() => parseProfile(many)).message).toContain('more than 10000 elements');
  });

  it('truncated documents name the unclosed element and where it opened', () => {
    const full = fixture('full-profile.xml').toString('utf8');
    const e = rejects(() => parseProfile(Buffer.from(full.slice(0, full.indexOf('<ServerList>'))), { file: 't.xml' }));
    expect(e.message).toMatch(/^t\.xml:\d+:\d+: unexpected end of document: <AnyConnectProfile> opened at line 3, column 1 is not closed$/);
    expect(rejects(() => parseProfile(Buffer.from('<AnyConnectProfile><ServerList'))).message).toContain('unterminated start tag <ServerList>');
    expect(rejects(() => parseProfile(Buffer.from(''))).message).toContain('no root element');
  });

  it('invalid UTF-8 reports the line and column of the bad byte', () => {
    const bytes = Buffer.concat([Buffer.from('<AnyConnectProfile>\n  <X>ab'), Buffer.from([0xc3, 0x28]), Buffer.from('</X></AnyConnectProfile>')]);
    const e = rejects(() => parseProfile(bytes, { file: 'u.xml' }));
    expect(e.message).toBe('u.xml:2:8: invalid UTF-8 (byte 0xc3 at offset 27)');
    // Overlong encodings and encoded surrogates are invalid too.
    rejects(() => parseProfile(Buffer.from([0x3c, 0x61, 0x3e, 0xc0, 0xaf, 0x3c, 0x2f, 0x61, 0x3e])));
    rejects(() => parseProfile(Buffer.from([0x3c, 0x61, 0x3e, 0xed, 0xa0, 0x80, 0x3c, 0x2f, 0x61, 0x3e])));
  });

  it('malformed XML: mismatched tags, duplicate attributes, second root, control characters', () => {
    const cases: Array<[string, RegExp]> = [
      ['<AnyConnectProfile>\n<A></B></AnyConnectProfile>', /:2:4: end tag <\/B> does not match <A> opened at line 2, column 1/],
      ['<AnyConnectProfile a="1" a="2"/>', /:1:26: duplicate attribute a/],
      ['<AnyConnectProfile/><AnyConnectProfile/>', /:1:21: a second root element/],
      ['<AnyConnectProfile>\u0001</AnyConnectProfile>', /:1:20: character U\+0001/],
      ['<AnyConnectProfile a=1/>', /attribute a needs a quoted value/],
      ['text<AnyConnectProfile/>', /:1:1: text outside the root element/],
      ['<AnyConnectProfile><!-- open', /unterminated comment/],
      ['<AnyConnectProfile><?xml version="1.0"?></AnyConnectProfile>', /XML declaration is only allowed/],
    ];
    for (const [xml, pattern] of cases) expect(rejects(() => parseAnyDocument(Buffer.from(xml))).message).toMatch(pattern);
  });

  it('__proto__ as root, element and attribute pollutes nothing', () => {
    rejects(() => parseAnyDocument(Buffer.from('<__proto__ polluted="1"/>')));
    const r = parseProfile(Buffer.from('<AnyConnectProfile __proto__="x" constructor="y"><__proto__><polluted>1</polluted></__proto__><ClientInitialization><prototype/></ClientInitialization></AnyConnectProfile>'));
    expect(r.warnings.map((w) => w.kind)).toEqual(['namespace', 'unknown-element', 'unknown-element']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});
