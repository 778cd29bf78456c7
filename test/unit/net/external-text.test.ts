import { describe, expect, it } from 'vitest';
import { markdownCode, neutralizeCommands, quoteExternal } from '../../../src/net/external-text.ts';

/**
 * What a runner would execute: a line that, after leading white space (.NET's TrimStart: any Unicode
 * space), starts with `::`, or that holds the legacy `##[` anywhere.
 */
const commandLines = (text: string) =>
  text.split(/\r\n|\r|\n/).filter((line) => /^[\s\u0085]*::/.test(line) || line.includes('##['));

describe('quoteExternal', () => {
  it('keeps server text on one line: line breaks, tabs and other controls become visible escapes', () => {
    const quoted = quoteExternal('bad\n::error::x\r::add-mask::y\u2028z\u0007\u001b[31m\u0085');
    expect(quoted).toBe('bad\\n::error::x\\r::add-mask::y\\u2028z\\u0007\\u001b[31m\\u0085');
    expect(commandLines(quoted)).toEqual([]);
  });

  it('breaks the legacy ##[ command wherever it stands', () => {
    expect(commandLines(quoteExternal('code ##[error]pwned'))).toEqual([]);
    expect(quoteExternal('code ##[error]pwned').replaceAll('\u200b', '')).toBe('code ##[error]pwned');
  });

  it('caps the length', () => {
    expect(quoteExternal('x'.repeat(1000), 300)).toHaveLength(301);
    expect(quoteExternal('short')).toBe('short');
  });
});

describe('neutralizeCommands', () => {
  it.each([
    '::add-mask::secret',
    '  ::set-output name=x::y',
    '\t::stop-commands::token',
    '##[set-output name=x;]y',
    'Retrying: code ##[error]pwned',
    '\u00a0::error::behind a no-break space',
    '\u3000\u2003::warning::behind ideographic and em spaces',
    '\u0085::error::behind a next-line character',
    'fine\n::error::pwned',
    'fine\r::warning::pwned',
    'fine\r\n  ::add-path::/tmp',
  ])('no line of %j can run as a workflow command afterwards', (text) => {
    expect(commandLines(text).length).toBeGreaterThan(0);
    const safe = neutralizeCommands(text);
    expect(commandLines(safe)).toEqual([]);
    // Still readable: only a zero-width space was added.
    expect(safe.replaceAll('\u200b', '')).toBe(text);
  });

  it('leaves ordinary text and mid-line colons alone', () => {
    for (const text of ['Task 1: processing after 5s.', 'a::b', 'Downloaded x.mp3 (5 bytes).'])
      expect(neutralizeCommands(text)).toBe(text);
  });
});

describe('markdownCode', () => {
  it('renders server text as a code span: no HTML, links, images or autolinks', () => {
    expect(markdownCode('<img src=x onerror=alert(1)>')).toBe('`<img src=x onerror=alert(1)>`');
    expect(markdownCode('[click](https://evil.example)')).toBe('`[click](https://evil.example)`');
  });

  it('uses a fence longer than any backtick run inside, and pads a text that starts with one', () => {
    expect(markdownCode('a `b` c')).toBe('``a `b` c``');
    expect(markdownCode('`x`')).toBe('`` `x` ``');
  });

  it('keeps a table row whole: pipes escaped, line breaks shown as escapes', () => {
    const cell = markdownCode('a | b\nc');
    expect(cell).toBe('`a \\| b\\nc`');
    expect(cell).not.toContain('\n');
  });
});
