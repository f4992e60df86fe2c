import fc from 'fast-check';
import { bytesExcerpt, cutAtCodePoint, hasLoneSurrogate, storableText } from './storable-text.js';

/** What PostgreSQL refuses in text: NUL, and UTF-16 that has no UTF-8 form. */
const storable = (text: string) => !text.includes('\u0000') && !hasLoneSurrogate(text);

test('NUL and control characters become \\uXXXX, lone surrogates U+FFFD; tab and newlines stay', () => {
  expect(storableText('a\u0000b\u0007c\td\ne\r')).toBe('a\\u0000b\\u0007c\td\ne\r');
  expect(storableText('x\ud800y\udc00z')).toBe('x\ufffdy\ufffdz');
  expect(storableText('\ud83d\ude00')).toBe('\u{1F600}');
});

test('a cut never splits a surrogate pair and is marked', () => {
  expect(cutAtCodePoint('ab\u{1F600}', 3)).toBe('ab');
  expect(cutAtCodePoint('ab\u{1F600}', 4)).toBe('ab\u{1F600}');
  expect(storableText('ab\u{1F600}cd', 3)).toBe('ab…');
  expect(storableText('abc', 3)).toBe('abc');
});

test('bytes that are not UTF-8 (UTF-16 without BOM, stray continuation bytes) give storable excerpts', () => {
  expect(bytesExcerpt(Buffer.from('{"a":1}', 'utf16le'))).toBe(
    '{\\u0000"\\u0000a\\u0000"\\u0000:\\u00001\\u0000}\\u0000',
  );
  expect(bytesExcerpt(Buffer.from([0x80, 0xed, 0xa0, 0x80, 0x41]))).toMatch(/^\ufffd+A$/);
});

test('property: any string, any limit, gives storable text within the limit', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.integer({ min: 1, max: 320 }),
      (text, max) => {
        const out = storableText(text, max);
        return storable(out) && out.length <= max + 1;
      },
    ),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2_100 }), fc.integer({ min: 1, max: 600 }), (bytes, max) =>
      storable(bytesExcerpt(bytes, max)),
    ),
  );
});
