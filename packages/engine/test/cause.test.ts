import { describe, expect, it } from 'vitest';
import { TandemError } from '@tandem/common';
import { causeOf, isTransient } from '@tandem/engine';

describe('causeOf', () => {
  it('a gateway answer the XML reader refuses is a (transient) protocol error, like E_PROTOCOL', () => {
    const xml = causeOf(new TandemError('E_XML_INVALID', 'gateway response:2:1: <!DOCTYPE is not allowed'));
    expect(xml).toEqual({ cause: 'protocol-error', message: 'gateway response:2:1: <!DOCTYPE is not allowed' });
    expect(isTransient(xml.cause)).toBe(true);
    expect(causeOf(new TandemError('E_PROFILE_INVALID', 'x')).cause).toBe('internal');
  });
});
