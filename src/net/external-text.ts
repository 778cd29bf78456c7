/**
 * Text that came from outside (server messages, headers, result URLs) is printed only through these,
 * so no API, proxy or CDN can write a workflow command, break a log line, or put markup in the summary.
 */

// eslint-disable-next-line no-control-regex -- control characters are exactly what is being escaped
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One printable line: control characters shown as escapes, at most `max` characters. */
export function quoteExternal(text: string, max = 300): string {
  const line = breakLegacyCommands(
    text.replace(CONTROL, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** The runner's legacy parser finds `##[` anywhere in a line, not only at its start. */
function breakLegacyCommands(text: string): string {
  return text.replaceAll('##[', '#\u200b#[');
}

/**
 * The runner reads a line as a command when, after leading white space (any Unicode space: .NET's
 * TrimStart), it starts with `::`, or when it holds the legacy `##[` anywhere; lines end at \n, \r
 * or both. A zero-width space (not white space to .NET) makes such a line plain text. The last guard
 * at the log sink: external text is already quoted where it is printed.
 */
export function neutralizeCommands(message: string): string {
  return breakLegacyCommands(message).replace(/^([\s\u0085]*)::/gm, '$1\u200b::');
}

/**
 * External text as a Markdown code span for the job summary and comments: no HTML, images, links or
 * autolinks chosen by a server; `|` escaped so a table row holds.
 */
export function markdownCode(text: string, max = 300): string {
  const line = quoteExternal(text, max).replace(/\|/g, '\\|');
  const longestRun = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}
