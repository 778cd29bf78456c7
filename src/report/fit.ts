/**
 * Text cut to a size limit (GitHub's 65,536 characters for a comment, 1 MiB for a job summary),
 * always saying what was left out, so a batch with hostile server text is shown in part rather than
 * refused whole.
 */

/** How a limit counts: characters for a comment, UTF-8 bytes for the job summary. */
export type Measure = (text: string) => number;

export const characters: Measure = (text) => text.length;
export const utf8Bytes: Measure = (text) => Buffer.byteLength(text, 'utf8');

/** The size of lines joined with newlines, one newline after each. */
export function linesSize(lines: readonly string[], measure: Measure): number {
  return lines.reduce((total, line) => total + measure(line) + 1, 0);
}

/**
 * As many of `lines` as fit in `budget`, in order, then `omitted(n)` for the n left out. Room for the
 * note is kept back only when something must go.
 */
export function fitLines(
  lines: readonly string[],
  budget: number,
  measure: Measure,
  omitted: (count: number) => string,
): string[] {
  if (linesSize(lines, measure) <= budget) return [...lines];
  // The note for the largest count is the longest it can be.
  let used = measure(omitted(lines.length)) + 1;
  const kept: string[] = [];
  for (const line of lines) {
    const size = measure(line) + 1;
    if (used + size > budget) break;
    kept.push(line);
    used += size;
  }
  return [...kept, omitted(lines.length - kept.length)];
}

/** `items` joined by `separator` within `max`, ending with `more(n)` for the n left out. */
export function joinWithin(
  items: readonly string[],
  separator: string,
  max: number,
  measure: Measure,
  more: (count: number) => string,
): string {
  const all = items.join(separator);
  if (measure(all) <= max) return all;
  let used = measure(separator) + measure(more(items.length));
  const kept: string[] = [];
  for (const item of items) {
    const size = measure(item) + measure(separator);
    if (used + size > max) break;
    kept.push(item);
    used += size;
  }
  return [...kept, more(items.length - kept.length)].join(separator);
}
