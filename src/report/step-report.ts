/**
 * The step's outputs and summary over all its entries. Each entry has its own TaskReport (the
 * task's observer); the step publishes every output the moment an entry's value changes: one line
 * per entry in input order (so a single-video step keeps plain values), `files` as every file, and
 * `results` as JSON at the end.
 */
import { Inputs, Outputs, type OutputName } from '../constants.ts';
import { markdownCode } from '../net/external-text.ts';
import { policy } from '../policy.ts';
import { formatBytes, formatDuration, type Clock } from '../runtime.ts';
import { characters, fitLines, joinWithin, linesSize, utf8Bytes } from './fit.ts';
import {
  escape,
  TaskReport,
  type Ending,
  type OutputSink,
  type ReportContext,
  type UploadedArtifact,
} from './task-report.ts';

/** The per-entry outputs each `results` row carries, in the interface's order. */
const RESULT_FIELDS: readonly OutputName[] = [
  Outputs.TaskId,
  Outputs.ExternalTaskId,
  Outputs.TaskStatus,
  Outputs.AudioUrl,
  Outputs.AudioPath,
  Outputs.VideoUrl,
  Outputs.VideoPath,
  Outputs.Duration,
  Outputs.MuxedPath,
];

/** Outputs that hold one value for the whole step, not one per entry. */
const STEP_WIDE: readonly string[] = [Outputs.ArtifactId, Outputs.ArtifactUrl, Outputs.ArtifactDigest];

export interface EntryLabel {
  name: string;
  /** The URL or video id as written (or the task id attached to). */
  source: string;
  /** The source in words, for the single-video summary: "video 123", "existing task 456". */
  description: string;
}

/** One entry's last value of each output and state, as its TaskReport set them. */
class EntrySink implements OutputSink {
  readonly outputs = new Map<string, string>();
  readonly state = new Map<string, string>();
  readonly #changed: (kind: 'output' | 'state', name: string) => void;

  constructor(changed: (kind: 'output' | 'state', name: string) => void) {
    this.#changed = changed;
  }

  setOutput(name: OutputName, value: string): void {
    this.outputs.set(name, value);
    this.#changed('output', name);
  }

  saveState(name: string, value: string): void {
    this.state.set(name, value);
    this.#changed('state', name);
  }
}

/** GitHub's download URL as a link only when it cannot break out of the link syntax; else as code. */
function assetLink(url: string): string {
  const last = url.split('/').pop() ?? url;
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    // A malformed escape: show it as it came.
  }
  const name = markdownCode(decoded, 80);
  return /^https:\/\/[^\s()<>[\]`]+$/.test(url) ? `[${name}](${url})` : `${name} (${markdownCode(url, 200)})`;
}

export class StepReport {
  readonly entries: readonly TaskReport[];
  readonly #labels: readonly EntryLabel[];
  readonly #sinks: EntrySink[];
  readonly #sink: OutputSink;
  readonly #batch: boolean;
  readonly #clock: Clock;
  readonly #startedMs: number;
  readonly #redact: (text: string) => string;
  /** Entry → the earlier entry whose task it shares (one payment). */
  readonly #sharesWith = new Map<number, number>();
  #assetUrls: string[] = [];

  constructor(
    sink: OutputSink,
    labels: readonly EntryLabel[],
    batch: boolean,
    context: Omit<ReportContext, 'source'> & {
      /** Takes credentials out of what leaves by other ways than the sink: the comment, `results`. */
      redact?: (text: string) => string;
    },
  ) {
    this.#sink = sink;
    this.#redact = context.redact ?? ((text) => text);
    this.#labels = labels;
    this.#batch = batch;
    this.#clock = context.clock;
    this.#startedMs = context.startedMs;
    this.#sinks = labels.map(() => new EntrySink((kind, name) => this.#publish(kind, name)));
    this.entries = labels.map(
      (label, i) => new TaskReport(this.#sinks[i]!, { ...context, source: label.description }),
    );
  }

  /** Entry `index` has the task of entry `lead` (the same video and request): its rows say so, totals count it once. */
  shareTask(index: number, lead: number): void {
    this.#sharesWith.set(index, lead);
  }

  /** An entry's row; one that shares another's task points to it instead of repeating the cost. */
  #row(index: number, ending: Ending, messageChars?: number): ReturnType<TaskReport['row']> {
    const row = this.entries[index]!.row(ending, messageChars);
    const lead = this.#sharesWith.get(index);
    if (lead === undefined) return row;
    return { ...row, status: `${row.status} (the task of #${lead + 1})`, cost: `see #${lead + 1}` };
  }

  /** Entries with a task of their own: totals count each task once. */
  get #own(): TaskReport[] {
    return this.entries.filter((_, i) => !this.#sharesWith.has(i));
  }

  artifactUploaded(artifacts: readonly UploadedArtifact[]): void {
    for (const entry of this.entries) entry.artifactUploaded(artifacts);
  }

  artifactSkipped(reason: string): void {
    for (const entry of this.entries) entry.artifactSkipped(reason);
  }

  releaseAssets(urls: readonly string[]): void {
    this.#assetUrls = [...urls];
    this.#sink.setOutput(Outputs.ReleaseAssetUrls, urls.join('\n'));
  }

  commented(url: string): void {
    this.#sink.setOutput(Outputs.CommentUrl, url);
  }

  /**
   * The pull request comment: one row per entry, and where the files are, in at most `maxChars`
   * (GitHub refuses a longer body). A batch that does not fit loses its status messages first, then
   * its last rows, and says how many and where they all are (the job summary, at `summaryUrl`).
   */
  comment(
    endings: readonly Ending[],
    stepEnding?: Ending,
    { maxChars = policy.report.commentMaxChars, summaryUrl }: { maxChars?: number; summaryUrl?: string } = {},
  ): string {
    const done = endings.filter((e) => e.kind === 'succeeded').length;
    const head = [
      `### Kling video-to-audio: ${done} of ${endings.length} done`,
      '',
      '| Video | Status | Time | Audio | Cost |',
      '|---|---|---|---|---|',
    ];
    // Each part below the table has its own share, so the rows always keep most of the room.
    const share = Math.floor(maxChars / 8);
    const tail = [''];
    const artifact = this.entries[0]?.artifactLine(share);
    if (artifact) tail.push(artifact, '');
    if (this.#assetUrls.length > 0) {
      const links = joinWithin(
        this.#assetUrls.map(assetLink),
        ', ',
        share,
        characters,
        (n) => `and ${n} more`,
      );
      tail.push(`**Release assets:** ${links}`, '');
    }
    if (stepEnding && 'message' in stepEnding)
      tail.push(`> [!CAUTION]\n> ${markdownCode(stepEnding.message, 500)}`, '');
    const rows = (messageChars: number) =>
      this.entries.map((_, i) => {
        const row = this.#row(i, endings[i]!, messageChars);
        return `| ${markdownCode(this.#labels[i]!.name, 80)} | ${row.status} | ${row.time} | ${row.audio} | ${row.cost} |`;
      });
    const budget = maxChars - linesSize(head, characters) - characters(tail.join('\n'));
    const summaryLink = summaryUrl ? `[the job summary](${summaryUrl})` : 'the job summary';
    // A blank line first in each note: a line right under a table would be read as one of its rows.
    let table = rows(80);
    if (linesSize(table, characters) > budget) {
      const shortened = [
        ...rows(24),
        `\n_Status messages are cut short to fit in a comment: ${summaryLink} shows more._`,
      ];
      table =
        linesSize(shortened, characters) <= budget
          ? shortened
          : fitLines(
              rows(0),
              budget,
              characters,
              (n) =>
                `\n_${n} of ${endings.length} entries are not shown, and status messages are left out, to fit in a comment: ${summaryLink} lists them all._`,
            );
    }
    return this.#redact([...head, ...table, ...tail].join('\n'));
  }

  /** `results`: one object per entry in input order, with the error of each that did not succeed. */
  publishResults(endings: readonly Ending[]): void {
    const results = this.#sinks.map((sink, i) => {
      const value = (name: OutputName) => sink.outputs.get(name) ?? null;
      const ending = endings[i];
      const error =
        ending && 'message' in ending
          ? ending.message
          : ending?.kind === 'cancelled'
            ? `cancelled (${ending.signal})`
            : undefined;
      // A row's fields are the per-entry outputs of the same names, in the interface's order.
      return {
        name: this.#labels[i]!.name,
        source: this.#labels[i]!.source,
        ...Object.fromEntries(RESULT_FIELDS.map((name) => [name, value(name)])),
        ...(sink.outputs.has(Outputs.CacheHit)
          ? { [Outputs.CacheHit]: sink.outputs.get(Outputs.CacheHit) === 'true' }
          : {}),
        ...(error !== undefined ? { error } : {}),
      };
    });
    // Redacted before it is JSON, so taking a credential out cannot change the document's shape.
    this.#sink.setOutput(
      Outputs.Results,
      JSON.stringify(results, (_, v: unknown) => (typeof v === 'string' ? this.#redact(v) : v)),
    );
  }

  /** The step's error line: the entry's own for a single video, else one line per entry that did not succeed. */
  failureMessage(endings: readonly Ending[], stepEnding?: Ending): string {
    if (!this.#batch) return this.entries[0]!.failureMessage(stepEnding ?? endings[0]!);
    const lines = endings.flatMap((ending, i) =>
      ending.kind === 'succeeded' || ending.kind === 'submitted'
        ? []
        : [`- ${this.#labels[i]!.name}: ${this.entries[i]!.failureMessage(ending)}`],
    );
    const step = stepEnding ? this.#stepLine(stepEnding) : '';
    const count = `${lines.length} of ${endings.length} videos did not succeed`;
    return `${step}${lines.length > 0 ? `${count}:\n${lines.join('\n')}` : ''}`.trim();
  }

  /** What the step as a whole ran into, above the entries' own lines. */
  #stepLine(ending: Ending): string {
    if (ending.kind === 'cancelled')
      return (
        `Cancelled (${ending.signal}). Tasks already created keep running on Kling's side: re-run this job to ` +
        `resume them all (each entry's external id finds its task), or collect one with \`${Inputs.TaskId}: <id>\`.\n`
      );
    return 'message' in ending ? `${ending.message}\n` : '';
  }

  /**
   * The job summary: the single video's, or a table of every entry and the errors of those that did
   * not succeed, in at most `maxBytes` (GitHub shows no larger summary). Errors quote servers, so each
   * line is escaped: no HTML or link of theirs, no `<!--` that would hide the rest.
   */
  summary(
    endings: readonly Ending[],
    stepEnding?: Ending,
    maxBytes: number = policy.report.summaryMaxBytes,
  ): string {
    if (!this.#batch) return this.entries[0]!.summary(stepEnding ?? endings[0]!);
    const done = endings.filter((e) => e.kind === 'succeeded').length;
    const elapsed = formatDuration(this.#clock.now() - this.#startedMs);
    const lines = [
      `## Kling video-to-audio: ${done} of ${endings.length} done`,
      '',
      '| # | Name | Status | Time | Audio | Cost | Files |',
      '|---:|---|---|---|---|---|---|',
      ...this.entries.map((_, i) => {
        const row = this.#row(i, endings[i]!);
        return `| ${i + 1} | ${markdownCode(this.#labels[i]!.name, 80)} | ${row.status} | ${row.time} | ${row.audio} | ${row.cost} | ${row.files} |`;
      }),
      '',
      `**Total:** ${done} succeeded, ${endings.length - done} not; ${elapsed}; ${formatBytes(this.#own.reduce((n, e) => n + e.bytes, 0))} downloaded${this.#totalCost()}.`,
      '',
    ];
    const artifact = this.entries[0]?.artifactLine();
    if (artifact) lines.push(artifact, '');
    const failure =
      stepEnding && stepEnding.kind !== 'succeeded' ? this.failureMessage(endings, stepEnding) : '';
    if (!failure) return lines.join('\n');
    const caution = failure.split('\n').map((line) => `> ${escape(line)}`);
    const budget = maxBytes - linesSize(lines, utf8Bytes) - utf8Bytes('> [!CAUTION]\n');
    const shown = fitLines(
      caution,
      budget,
      utf8Bytes,
      (n) =>
        `> … ${n} more lines left out (the summary's size limit); every entry's error is in the \`${Outputs.Results}\` output.`,
    );
    return [...lines, '> [!CAUTION]', ...shown, ''].join('\n');
  }

  #totalCost(): string {
    const sum = (entries: readonly TaskReport[]) =>
      entries
        .map((e) => Number(e.units))
        .filter((n) => Number.isFinite(n))
        .reduce((a, b) => a + b, 0);
    const billed = this.#own.filter((e) => !e.cached);
    const cached = this.#own.filter((e) => e.cached);
    const parts = [
      billed.some((e) => e.units !== undefined) ? `; ${sum(billed)} units billed` : '',
      cached.length > 0
        ? `; ${cached.length} from the cache${sum(cached) > 0 ? `, saving ${sum(cached)} units` : ''}`
        : '',
    ];
    return parts.join('');
  }

  /** An entry's output or state changed: publish the step's value for it. */
  #publish(kind: 'output' | 'state', name: string): void {
    const values = this.#sinks.map((sink) => (kind === 'output' ? sink.outputs : sink.state).get(name));
    let value: string;
    if (STEP_WIDE.includes(name)) value = values.find((v) => v !== undefined) ?? '';
    // Entries that share a task list its files once.
    else if (name === Outputs.Files)
      value = [...new Set(values.flatMap((v) => (v ? v.split('\n') : [])))].join('\n');
    else value = values.map((v) => v ?? '').join('\n');
    if (kind === 'output') this.#sink.setOutput(name as OutputName, value);
    else this.#sink.saveState(name, value);
  }
}
