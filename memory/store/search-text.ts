/**
 * The form of a page's text that the full-text index holds, and of a query that searches it.
 *
 * LanceDB's tokenizer splits on whitespace and punctuation, so a run of Chinese or Japanese
 * text without spaces is one token (and dropped past 40 characters): a search for a word in it
 * finds nothing. Every run of such script is therefore written as its overlapping character
 * bigrams, the usual unit of CJK full-text search, separated by spaces ("我喜欢咖啡" -> "我喜 喜欢
 * 欢咖 咖啡"); a single character stands alone. Other text is left as it is, so English keeps
 * the index's own stemming and stop words. Queries go through the same function, so a word
 * inside a sentence matches the bigrams it is made of.
 */

// Han (with extensions and compatibility ideographs), kana, Hangul, and the ideographic iteration mark.
const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\u3005\\u30fc';
const CJK_RUN = new RegExp(`[${CJK}]+`, 'gu');
const CJK_CHAR = new RegExp(`[${CJK}]`, 'u');

export function searchableText(text: string): string {
  return text.replace(CJK_RUN, (run) => {
    const chars = [...run];
    if (chars.length === 1) return ` ${run} `;
    const grams: string[] = [];
    for (let i = 0; i + 1 < chars.length; i++) grams.push(chars[i]! + chars[i + 1]!);
    return ` ${grams.join(' ')} `;
  });
}

/** Whether `searchableText` changes the text (a cheap test for the migration of older rows). */
export function hasCjk(text: string): boolean {
  return CJK_CHAR.test(text);
}
