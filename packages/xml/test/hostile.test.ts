/**
 * The guarded reader on hostile and unusual input: every refusal is E_XML_INVALID with the
 * position of the problem, within a bounded time; every accepted encoding gives the same tree
 * with the same positions.
 */
import { describe, expect, it } from 'vitest';
import { isTandemError, type TandemError } from '@tandem/common';
import { readXml, type XmlElement } from '@tandem/xml';

const SMALL =
  '<?xml version="1.0" encoding="UTF-8"?>\n<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">\n  <ClientInitialization>\n    <CertificateStoreLinux>User</CertificateStoreLinux>\n    <Bogus/>\n  </ClientInitialization>\n  <ServerList><HostEntry><HostName>vpn.example.com</HostName></HostEntry></ServerList>\n</AnyConnectProfile>\n';

function utf16be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) {
    const a = le[i]!;
    le[i] = le[i + 1]!;
    le[i + 1] = a;
  }
  return le;
}

function read(bytes: Buffer, source = 'doc.xml'): XmlElement {
  return readXml(bytes, { source }).root;
}

/** The first descendant with this local name, depth first. */
function find(el: XmlElement, local: string): XmlElement | undefined {
  for (const c of el.children) {
    if (c.local === local) return c;
    const hit = find(c, local);
    if (hit) return hit;
  }
  return undefined;
}

/** Runs `fn`, asserts it throws E_XML_INVALID within 1 s, and returns the error. */
function rejects(fn: () => unknown): TandemError & { elapsed: number } {
  const start = performance.now();
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  const elapsed = performance.now() - start;
  expect(isTandemError(caught, 'E_XML_INVALID'), `expected E_XML_INVALID, got ${String(caught)}`).toBe(true);
  expect(elapsed).toBeLessThan(1000);
  return Object.assign(caught as TandemError, { elapsed });
}

describe('encodings and line endings are accepted', () => {
  const check = (bytes: Buffer) => {
    const root = read(bytes, 'p.xml');
    expect(root.namespace).toBe('http://schemas.xmlsoap.org/encoding/');
    expect(find(root, 'CertificateStoreLinux')?.text).toBe('User');
    expect(find(root, 'HostName')?.text).toBe('vpn.example.com');
    // Positions are per logical line whatever the encoding or line ending.
    expect(find(root, 'Bogus')).toMatchObject({ line: 5, column: 5 });
  };
  it('UTF-8 with LF', () => check(Buffer.from(SMALL)));
  it('CRLF', () => check(Buffer.from(SMALL.replace(/\n/g, '\r\n'))));
  it('UTF-8 BOM', () => check(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SMALL)])));
  it('UTF-16LE with BOM', () => check(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SMALL, 'utf16le')])));
  it('UTF-16LE without BOM (sniffed)', () => check(Buffer.from(SMALL, 'utf16le')));
  it('UTF-16BE with BOM', () => check(Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(SMALL)])));
  it('UTF-16BE without BOM (sniffed), CRLF', () => check(utf16be(SMALL.replace(/\n/g, '\r\n'))));
  it('the five predefined entities, numeric references and CDATA are decoded', () => {
    const xml =
      '<AnyConnectProfile><ServerList><HostEntry><HostName>A &amp; B &#x41;&#66; &lt;x&gt;<![CDATA[ & more]]></HostName><HostAddress>h.example.com</HostAddress></HostEntry></ServerList></AnyConnectProfile>';
    expect(find(read(Buffer.from(xml)), 'HostName')?.text).toBe('A & B AB <x> & more');
  });
});

describe('hostile input is rejected fast with a positioned E_XML_INVALID', () => {
  it('DOCTYPE (any case, anywhere)', () => {
    const e = rejects(() =>
      read(Buffer.from('<?xml version="1.0"?>\n<!doctype AnyConnectProfile>\n<AnyConnectProfile/>'), 'd.xml'),
    );
    expect(e.message).toBe('d.xml:2:1: <!DOCTYPE is not allowed (DTDs and entities are refused)');
    expect(e.details).toMatchObject({ source: 'd.xml', line: 2, column: 1 });
    const inComment = rejects(() =>
      read(Buffer.from('<AnyConnectProfile><!-- <!ENTITY x "y"> --></AnyConnectProfile>')),
    );
    expect(inComment.message).toContain('<!ENTITY');
  });

  it('billion laughs', () => {
    const lol = ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', '<!ENTITY lol "lol">'];
    for (let i = 1; i < 10; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    lol.push(']>', '<AnyConnectProfile>&lol9;</AnyConnectProfile>');
    const e = rejects(() => read(Buffer.from(lol.join('\n')), 'lol.xml'));
    expect(e.details).toMatchObject({ line: 2, column: 1 });
  });

  it('external entity (XXE)', () => {
    const xxe =
      '<?xml version="1.0"?>\n<!DOCTYPE p [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n<AnyConnectProfile>&xxe;</AnyConnectProfile>';
    expect(rejects(() => read(Buffer.from(xxe))).message).toMatch(/:2:1: <!DOCTYPE/);
  });

  it('an undefined entity reference without a DTD', () => {
    const e = rejects(() => read(Buffer.from('<AnyConnectProfile>\n  <X>&xxe;</X></AnyConnectProfile>'), 'e.xml'));
    expect(e.message).toMatch(/^e\.xml:2:6: undefined entity &xxe;/);
  });

  it('numeric references are bounded: too long or not an XML character', () => {
    expect(rejects(() => read(Buffer.from('<a>&#x0000000041;</a>'))).message).toContain("'&'");
    expect(rejects(() => read(Buffer.from('<a>&#0;</a>'))).message).toContain('not a legal XML character');
  });

  it('50 MiB file (size cap before anything else)', () => {
    const huge = Buffer.alloc(50 * 1024 * 1024, 0x20);
    huge.write('<AnyConnectProfile>', 0);
    const e = rejects(() => read(huge, 'big.xml'));
    expect(e.message).toBe('big.xml: document is 52428800 bytes; the limit is 1048576 bytes');
    expect(e.details).toMatchObject({ line: 0, column: 0 });
  });

  it('100k-deep nesting is refused at depth 33 without recursion', () => {
    const deep = Buffer.from(
      `<AnyConnectProfile>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</AnyConnectProfile>`,
    );
    expect(deep.length).toBeLessThan(1024 * 1024);
    const e = rejects(() => read(deep, 'deep.xml'));
    expect(e.message).toBe(`deep.xml:1:${20 + 31 * 3}: elements nested deeper than 32 levels`);
    expect(e.elapsed).toBeLessThan(50);
  });

  it('more than 10,000 elements', () => {
    const many = Buffer.from(`<AnyConnectProfile>${'<a/>'.repeat(10_001)}</AnyConnectProfile>`);
    expect(rejects(() => read(many)).message).toContain('more than 10000 elements');
  });

  it('truncated documents name the unclosed element and where it opened', () => {
    const full =
      '<?xml version="1.0"?>\n<!-- a profile -->\n<AnyConnectProfile>\n  <ClientInitialization/>\n  <ServerList><HostEntry><HostName>h</HostName></HostEntry></ServerList>\n</AnyConnectProfile>\n';
    const e = rejects(() => read(Buffer.from(full.slice(0, full.indexOf('<ServerList>'))), 't.xml'));
    expect(e.message).toMatch(
      /^t\.xml:\d+:\d+: unexpected end of document: <AnyConnectProfile> opened at line 3, column 1 is not closed$/,
    );
    expect(rejects(() => read(Buffer.from('<AnyConnectProfile><ServerList'))).message).toContain(
      'unterminated start tag <ServerList>',
    );
    expect(rejects(() => read(Buffer.from(''))).message).toContain('no root element');
  });

  it('invalid UTF-8 reports the line and column of the bad byte', () => {
    const bytes = Buffer.concat([
      Buffer.from('<AnyConnectProfile>\n  <X>ab'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('</X></AnyConnectProfile>'),
    ]);
    const e = rejects(() => read(bytes, 'u.xml'));
    expect(e.message).toBe('u.xml:2:8: invalid UTF-8 (byte 0xc3 at offset 27)');
    // Overlong encodings and encoded surrogates are invalid too.
    rejects(() => read(Buffer.from([0x3c, 0x61, 0x3e, 0xc0, 0xaf, 0x3c, 0x2f, 0x61, 0x3e])));
    rejects(() => read(Buffer.from([0x3c, 0x61, 0x3e, 0xed, 0xa0, 0x80, 0x3c, 0x2f, 0x61, 0x3e])));
  });

  it('malformed XML: mismatched tags, duplicate attributes, second root, control characters', () => {
    const cases: Array<[string, RegExp]> = [
      [
        '<AnyConnectProfile>\n<A></B></AnyConnectProfile>',
        /:2:4: end tag <\/B> does not match <A> opened at line 2, column 1/,
      ],
      ['<AnyConnectProfile a="1" a="2"/>', /:1:26: duplicate attribute a/],
      ['<AnyConnectProfile/><AnyConnectProfile/>', /:1:21: a second root element/],
      ['<AnyConnectProfile>\u0001</AnyConnectProfile>', /:1:20: character U\+0001/],
      ['<AnyConnectProfile a=1/>', /attribute a needs a quoted value/],
      ['text<AnyConnectProfile/>', /:1:1: text outside the root element/],
      ['<AnyConnectProfile><!-- open', /unterminated comment/],
      ['<AnyConnectProfile><?xml version="1.0"?></AnyConnectProfile>', /XML declaration is only allowed/],
    ];
    for (const [xml, pattern] of cases) expect(rejects(() => read(Buffer.from(xml))).message).toMatch(pattern);
  });

  it('__proto__ as root, element and attribute is just a name and pollutes nothing', () => {
    const root = read(
      Buffer.from(
        '<__proto__ polluted="1" __proto__="x"><__proto__><constructor>1</constructor></__proto__></__proto__>',
      ),
    );
    expect(root.local).toBe('__proto__');
    expect([...root.attributes.keys()]).toEqual(['polluted', '__proto__']);
    expect(root.children[0]?.children[0]).toMatchObject({ local: 'constructor', text: '1' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});
