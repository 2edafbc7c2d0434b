/** Index of the first lone UTF-16 surrogate in `text` (one UTF-8 cannot store), or -1. */
export function loneSurrogateAt(text: string): number {
  const m = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(text);
  return m ? m.index : -1;
}
