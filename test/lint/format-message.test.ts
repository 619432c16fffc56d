import { describe, expect, it } from 'vitest';
import { formatMessage, templateParts } from '../../src/lint/rule.ts';

describe('formatMessage', () => {
  it('fills each placeholder, spaces inside the braces allowed', () => {
    expect(
      formatMessage('{{target}} is reachable at {{ address }} ({{certainty}}).', {
        target: 'Container web',
        address: '203.0.113.7:80/tcp',
        certainty: 'certainly',
      }),
    ).toBe('Container web is reachable at 203.0.113.7:80/tcp (certainly).');
  });

  it('keeps a placeholder its data lacks as written, and numbers as text', () => {
    expect(formatMessage('{{a}}{{ b }}-{{c}}', { a: 1 })).toBe('1{{ b }}-{{c}}');
    expect(formatMessage('no placeholders', undefined)).toBe('no placeholders');
  });

  it('does not expand placeholders inside the data (input text stays text)', () => {
    expect(formatMessage('rule {{rule}} at {{line}}', { rule: '{{line}}', line: 7 })).toBe(
      'rule {{line}} at 7',
    );
  });

  it('names the keys of a template in order, the same object for the same template', () => {
    const t = 'x {{one}} y {{two}} z {{one}}';
    expect(templateParts(t).keys).toEqual(['one', 'two', 'one']);
    expect(templateParts(t)).toBe(templateParts(t));
  });
});
