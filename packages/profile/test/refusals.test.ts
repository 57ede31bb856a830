/**
 * Which error a refused document gives: XML-level problems come from @tandem/xml unchanged
 * (E_XML_INVALID, positioned, the caller's file name), a well-formed document that is not a
 * profile or local policy is E_PROFILE_INVALID; neither pollutes prototypes.
 */
import { describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import { parseAnyDocument, parseLocalPolicy, parseProfile } from '@tandem/profile';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

describe('profile refusals', () => {
  it('an XML-level refusal reaches the caller as E_XML_INVALID with the file name and position', () => {
    const err = caught(() =>
      parseProfile(Buffer.from('<AnyConnectProfile>\n  <A></B></AnyConnectProfile>'), { file: 'p.xml' }),
    );
    expect(isTandemError(err, 'E_XML_INVALID')).toBe(true);
    expect(err).toMatchObject({
      message: 'p.xml:2:6: end tag </B> does not match <A> opened at line 2, column 3',
      details: { source: 'p.xml', line: 2, column: 6 },
    });
    const dtd = caught(() => parseAnyDocument(Buffer.from('<!DOCTYPE x>\n<AnyConnectProfile/>'), { file: 'd.xml' }));
    expect(dtd).toMatchObject({
      code: 'E_XML_INVALID',
      message: 'd.xml:1:1: <!DOCTYPE is not allowed (DTDs and entities are refused)',
    });
  });

  it('the caller’s limits reach the reader', () => {
    const err = caught(() =>
      parseProfile(Buffer.from('<AnyConnectProfile><a><b/></a></AnyConnectProfile>'), {
        file: 'l.xml',
        limits: { maxDepth: 2 },
      }),
    );
    expect(err).toMatchObject({ code: 'E_XML_INVALID', message: 'l.xml:1:23: elements nested deeper than 2 levels' });
  });

  it('a well-formed document with another root element is E_PROFILE_INVALID at the root', () => {
    const err = caught(() =>
      parseProfile(Buffer.from('<?xml version="1.0"?>\n  <AnyConnectLocalPolicy/>'), { file: 'r.xml' }),
    );
    expect(err).toMatchObject({
      code: 'E_PROFILE_INVALID',
      message: 'r.xml:2:3: root element is <AnyConnectLocalPolicy>, expected <AnyConnectProfile>',
      details: { file: 'r.xml', line: 2, column: 3 },
    });
    expect(caught(() => parseLocalPolicy(Buffer.from('<AnyConnectProfile/>')))).toMatchObject({
      code: 'E_PROFILE_INVALID',
    });
    expect(caught(() => parseAnyDocument(Buffer.from('<__proto__ polluted="1"/>')))).toMatchObject({
      code: 'E_PROFILE_INVALID',
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('__proto__ and constructor as element and attribute names are unknown elements, and pollute nothing', () => {
    const r = parseProfile(
      Buffer.from(
        '<AnyConnectProfile __proto__="x" constructor="y"><__proto__><polluted>1</polluted></__proto__><ClientInitialization><prototype/></ClientInitialization></AnyConnectProfile>',
      ),
    );
    expect(r.warnings.map((w) => w.kind)).toEqual(['namespace', 'unknown-element', 'unknown-element']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});
