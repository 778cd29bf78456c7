/**
 * Credentials, and every token derived from them, taken out of text before it leaves the step. The
 * runner masks only its log: outputs, state, the summary, a comment or a file are published as
 * written, and a gateway's error text may quote the Authorization header it was sent.
 */

export const REDACTED = '***';

/** Shorter values are not credentials, and removing them would mangle every text they occur in. */
const MIN_SECRET_LENGTH = 6;
/** A secret cut short by a length cap (`…` follows the cut) still shows this much of itself. */
const MIN_CUT_LENGTH = 4;

export class Redactor {
  /** Every form a secret may take in a text, longest first, so no longer form is left half replaced. */
  #forms: string[] = [];

  /** From now on, `value` (and the forms a server may echo it in) is removed from every text. */
  add(value: string): void {
    const secret = value.trim();
    if (secret.length < MIN_SECRET_LENGTH) return;
    const forms = new Set([...this.#forms, ...formsOf(secret)]);
    this.#forms = [...forms].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    if (this.#forms.length === 0 || text === '') return text;
    let result = text;
    for (const form of this.#forms) if (result.includes(form)) result = result.split(form).join(REDACTED);
    return result.includes('…') ? this.#redactCuts(result) : result;
  }

  /** Strings anywhere in plain data (arrays, objects) redacted; other values as they are. */
  redactData<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((item: unknown) => this.redactData(item)) as T;
    if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, this.redactData(item)]),
      ) as T;
    return value;
  }

  /** The start of a secret that a length cap cut off right before its `…`. */
  #redactCuts(text: string): string {
    let result = '';
    let from = 0;
    for (let at = text.indexOf('…'); at !== -1; at = text.indexOf('…', at + 1)) {
      const cut = this.#cutBefore(text, from, at);
      result += `${text.slice(from, at - cut)}${cut > 0 ? REDACTED : ''}`;
      from = at;
    }
    return result + text.slice(from);
  }

  /** How many characters before `at` (and after `from`) are the start of a secret. */
  #cutBefore(text: string, from: number, at: number): number {
    let longest = 0;
    for (const form of this.#forms)
      for (let n = Math.min(form.length - 1, at - from); n >= Math.max(MIN_CUT_LENGTH, longest + 1); n--)
        if (text.startsWith(form.slice(0, n), at - n)) {
          longest = n;
          break;
        }
    return longest;
  }
}

/** The secret as sent, URL-encoded (either hex case), form-encoded, and escaped in a JSON string. */
function formsOf(secret: string): string[] {
  const uri = encodeURIComponent(secret);
  return [
    secret,
    uri,
    uri.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ];
}
