/**
 * Reads one input at a time and collects every problem, so the user fixes them in one round.
 * Nothing else calls core.getInput: the step passes `getInput` in.
 */
import { policy } from '../policy.ts';
import { httpUrlProblem } from './urls.ts';

export type GetInput = (name: string) => string;

export class InputError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(
      problems.length === 1
        ? `Invalid input: ${problems[0]}`
        : `Invalid inputs:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'InputError';
    this.problems = problems;
  }
}

/** What fetch can send in a header: Latin-1 without control characters (no zero-width spaces either). */
export const HEADER_SAFE = /^[\x20-\x7e\xa0-\xff]+$/;
const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

export class InputReader {
  readonly problems: string[] = [];
  readonly #getInput: GetInput;

  constructor(getInput: GetInput) {
    this.#getInput = getInput;
  }

  get(name: string): string {
    return this.#getInput(name).trim();
  }

  /** Records a problem; returns undefined so a reader can `return reader.problem(...)`. */
  problem(text: string): undefined {
    this.problems.push(text);
    return undefined;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.get(name);
    if (raw === '') return fallback;
    if (TRUE.includes(raw)) return true;
    if (FALSE.includes(raw)) return false;
    this.problem(`${name} must be true or false, got "${raw}".`);
    return fallback;
  }

  number(name: string, fallback: number, min: number, max: number, integer = false): number {
    const raw = this.get(name);
    if (raw === '') return fallback;
    const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      this.problem(
        `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${raw}".`,
      );
      return fallback;
    }
    return value;
  }

  httpUrl(name: string, raw: string): string | undefined {
    const problem = httpUrlProblem(raw);
    return problem ? this.problem(`${name} ${problem}`) : raw;
  }

  prompt(name: string): string | undefined {
    const raw = this.get(name);
    if (raw === '') return undefined;
    const characters = [...raw].length;
    if (characters > policy.inputs.maxPromptCharacters)
      return this.problem(
        `${name} is ${characters} characters long; Kling accepts at most ${policy.inputs.maxPromptCharacters}. Shorten it.`,
      );
    return raw;
  }

  /** A choice among `options`, case-insensitive. */
  oneOf<T extends string>(name: string, options: readonly T[], fallback: T): T {
    const raw = this.get(name).toLowerCase() || fallback;
    if ((options as readonly string[]).includes(raw)) return raw as T;
    this.problem(`${name} must be ${options.slice(0, -1).join(', ')} or ${options.at(-1)}, got "${raw}".`);
    return fallback;
  }
}
