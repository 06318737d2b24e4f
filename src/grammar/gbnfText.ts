/** Writing GBNF text: literals and classes with every non-alphanumeric character escaped. */

const hex = (cp: number) => (cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`);
const safe = (cp: number) => (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x20;

function char(cp: number): string {
  return safe(cp) ? String.fromCodePoint(cp) : hex(cp);
}

/** A GBNF literal for `text` ("" for the empty string). */
export function literal(text: string): string {
  let out = '"';
  for (const ch of text) out += char(ch.codePointAt(0)!);
  return `${out}"`;
}

/** A GBNF class for inclusive code-point ranges. */
export function charClass(ranges: ReadonlyArray<readonly [number, number]>): string {
  return `[${ranges.map(([lo, hi]) => (lo === hi ? char(lo) : `${char(lo)}-${char(hi)}`)).join('')}]`;
}

/** Characters a JSON string may hold unescaped: not `"`, not `\`, not a control character. */
export const JSON_CHAR_RANGES: ReadonlyArray<readonly [number, number]> = [[0x20, 0x21], [0x23, 0x5b], [0x5d, 0x10ffff]];
