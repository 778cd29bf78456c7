/**
 * What the step tells the user: outputs the moment each fact is known, and a job summary however
 * the step ends (success, failure, timeout, cancellation).
 */
import path from 'node:path';
import { Inputs, Outputs, State, type OutputName } from '../constants.ts';
import type { Task, TaskBilling } from '../kling/responses.ts';
import { resultUrlProblem } from '../net/address.ts';
import { markdownCode } from '../net/external-text.ts';
import { formatBytes, formatDuration, type Clock } from '../runtime.ts';
import { characters, joinWithin } from './fit.ts';
import type { AudioFormat, ResultFile } from '../task/files.ts';
import type { TaskObserver } from '../task/task.ts';

/** An artifact the step uploaded, as the outputs and the summary show it. */
export interface UploadedArtifact {
  name: string;
  id: number;
  size?: number;
  digest?: string;
  url: string;
  replaced: boolean;
}

export interface OutputSink {
  setOutput(name: OutputName, value: string): void;
  saveState(name: string, value: string): void;
}

export type Ending =
  | { kind: 'succeeded' }
  | { kind: 'submitted' }
  | { kind: 'failed'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'cancelled'; signal: string };

export interface ReportContext {
  provider: string;
  /** Result URLs over http may be passed on (the API is on loopback). */
  allowHttpResults: boolean;
  source: string;
  audioFormat: AudioFormat;
  clock: Clock;
  startedMs: number;
  /** Files inside it are listed relative to it, as a reader of the workflow thinks of them. */
  workspace: string;
}

/** The step's observer of its task: outputs the moment each fact is known, then the summary. */
export class TaskReport implements TaskObserver {
  private readonly sink: OutputSink;
  private readonly context: ReportContext;
  private task: Task | undefined;
  private externalTaskId: string | undefined;
  private resumed = false;
  private readonly statusChanges: { status: string; atMs: number }[] = [];
  private files: ResultFile[] = [];
  private uploaded: UploadedArtifact[] = [];
  private fromCache = false;
  private artifactNote: string | undefined;

  constructor(sink: OutputSink, context: ReportContext) {
    this.sink = sink;
    this.context = context;
  }

  /** A create is about to be sent: if the step dies now, this id is how a re-run finds the task. */
  creating(externalTaskId: string): void {
    if (this.externalTaskId === externalTaskId) return;
    this.externalTaskId = externalTaskId;
    this.sink.setOutput(Outputs.ExternalTaskId, externalTaskId);
    this.sink.saveState(State.ExternalTaskId, externalTaskId);
  }

  taskKnown(task: Task, externalTaskId: string | undefined, resumed: boolean): void {
    this.resumed = resumed;
    this.sink.setOutput(Outputs.TaskId, task.taskId);
    this.sink.saveState(State.TaskId, task.taskId);
    const externalId = externalTaskId ?? task.externalTaskId;
    if (externalId) this.creating(externalId);
    this.status(task);
  }

  status(task: Task): void {
    const changed = this.task?.status !== task.status;
    this.task = task;
    if (!changed) return;
    this.statusChanges.push({ status: task.status, atMs: this.context.clock.now() });
    this.sink.setOutput(Outputs.TaskStatus, task.status);
    if (task.status === 'succeed') this.results(task);
  }

  private results(task: Task): void {
    const audio = task.audios[0];
    const url = this.context.audioFormat === 'wav' ? audio?.wavUrl : audio?.mp3Url;
    const duration = this.primaryDuration(task);
    // A URL the action refuses to fetch is not handed to later steps either.
    const passOn = (link: string | undefined) =>
      link !== undefined && resultUrlProblem(link, this.context.allowHttpResults) === undefined;
    if (passOn(url)) this.sink.setOutput(Outputs.AudioUrl, url!);
    if (duration !== undefined) this.sink.setOutput(Outputs.Duration, duration);
    const video = task.videos[0];
    if (passOn(video?.url)) this.sink.setOutput(Outputs.VideoUrl, video!.url);
  }

  /** The duration of the primary format (mp3 unless audio_format is wav), as the API reports it. */
  private primaryDuration(task: Task): string | undefined {
    const audio = task.audios[0];
    return this.context.audioFormat === 'wav'
      ? audio?.wavDuration
      : (audio?.mp3Duration ?? audio?.wavDuration);
  }

  /** A file of the result is in place: downloaded, restored from the cache, or made on the runner (muxed). */
  downloaded(file: ResultFile): void {
    this.files = [...this.files, file];
    const primaryKind = this.context.audioFormat === 'wav' ? 'wav' : 'mp3';
    if (file.role === 'audio' && file.kind === primaryKind) this.sink.setOutput(Outputs.AudioPath, file.path);
    if (file.role === 'video') this.sink.setOutput(Outputs.VideoPath, file.path);
    if (file.role === 'muxed') this.sink.setOutput(Outputs.MuxedPath, file.path);
    // Every file, for steps that take them all (a release upload with audio_format: both).
    this.sink.setOutput(Outputs.Files, this.files.map((f) => f.path).join('\n'));
  }

  /** One artifact, or one per file (archive: false): the outputs list each, one per line. */
  artifactUploaded(artifacts: readonly UploadedArtifact[]): void {
    this.uploaded = [...artifacts];
    this.sink.setOutput(Outputs.ArtifactId, artifacts.map((a) => String(a.id)).join('\n'));
    this.sink.setOutput(Outputs.ArtifactUrl, artifacts.map((a) => a.url).join('\n'));
    const digests = artifacts.map((a) => a.digest ?? '');
    if (digests.some(Boolean)) this.sink.setOutput(Outputs.ArtifactDigest, digests.join('\n'));
  }

  /**
   * The artifacts as Markdown links (a digest is the service's text, so it is shown as code), within
   * `maxChars`: one artifact per file of a large batch would not fit in a comment.
   */
  private artifactLinks(separator: string, maxChars = Infinity): string {
    const links = this.uploaded.map(
      (a) =>
        `[${escape(a.name)}](${a.url})${a.replaced ? ' (replaced the earlier attempt’s)' : ''}` +
        `${a.digest ? ` sha256 ${markdownCode(a.digest, 80)}` : ''}`,
    );
    return joinWithin(links, separator, maxChars, characters, (n) => `and ${n} more`);
  }

  artifactSkipped(reason: string): void {
    this.artifactNote = reason;
  }

  /** Whether the files came from an earlier run's cache (cache: true); cache_hit says so. */
  cacheHit(hit: boolean): void {
    this.fromCache = hit;
    this.sink.setOutput(Outputs.CacheHit, String(hit));
  }

  /** The result came from the cache: nothing was billed for it this time. */
  get cached(): boolean {
    return this.fromCache;
  }

  /** Bytes downloaded so far (a muxed video is made here, not downloaded). */
  get bytes(): number {
    return this.files.filter((f) => f.role !== 'muxed').reduce((n, f) => n + f.bytes, 0);
  }

  /** Resource-pack units the task cost, as the API wrote them. */
  get units(): string | undefined {
    return this.task?.billing?.units;
  }

  /** This entry as a row of the step's table (every cell already Markdown); the server's status message cut to `messageChars`. */
  row(
    ending: Ending,
    messageChars = 80,
  ): { status: string; time: string; audio: string; cost: string; files: string } {
    const task = this.task;
    const last = this.statusChanges.at(-1);
    const status = task
      ? `${task.status}${task.statusMessage && messageChars > 0 ? ` ${markdownCode(task.statusMessage, messageChars)}` : ''}`
      : ending.kind === 'cancelled'
        ? 'cancelled'
        : 'not submitted';
    const failed = ending.kind === 'failed' || ending.kind === 'timeout' ? ` ⚠️` : '';
    return {
      status: `${status}${this.fromCache ? ' (from the cache)' : ''}${failed}`,
      time: last ? formatDuration(last.atMs - this.context.startedMs) : '–',
      audio: task && this.primaryDuration(task) ? `${this.primaryDuration(task)} s` : '–',
      cost: costCell(task, this.fromCache),
      files:
        this.files.length > 0 ? this.files.map((f) => markdownCode(path.basename(f.path))).join('<br>') : '–',
    };
  }

  /** The artifact as one Markdown line, when there is one to name. */
  artifactLine(maxChars = Infinity): string | undefined {
    if (this.uploaded.length > 0)
      return `**Artifact${this.uploaded.length > 1 ? 's' : ''}:** ${this.artifactLinks(', ', maxChars)}`;
    return this.artifactNote ? `**Artifact:** ${escape(this.artifactNote)}` : undefined;
  }

  /** The step's error line: what went wrong and, while the task runs on, how to resume it. */
  failureMessage(ending: Ending): string {
    const task = this.task;
    const running = task && task.status !== 'succeed' && task.status !== 'failed';
    const resume = running
      ? ` Resume it with \`${Inputs.TaskId}: ${task.taskId}\` in a later step or run.`
      : '';
    switch (ending.kind) {
      case 'cancelled':
        if (running)
          return `Cancelled (${ending.signal}) while task ${task.taskId} was ${task.status}; it keeps running on Kling's side.${resume}`;
        if (task?.status === 'succeed') return `Cancelled (${ending.signal}) ${this.afterSuccessNote(task)}`;
        return `Cancelled (${ending.signal}).${this.pendingCreateNote()}`;
      case 'failed':
        return running
          ? `${ending.message} Task ${task.taskId} is still ${task.status}.${resume}`
          : ending.message;
      case 'timeout':
        return ending.message;
      default:
        return '';
    }
  }

  /** Cancelled while downloading or uploading: the audio exists, say where to get it. */
  private afterSuccessNote(task: Task): string {
    const done = `after task ${task.taskId} succeeded`;
    if (this.files.length === 0)
      return `${done}, before its files were downloaded. Collect them with \`${Inputs.TaskId}: ${task.taskId}\` in a later step or run (Kling keeps them for 30 days).`;
    const paths = this.files.map((f) => this.displayPath(f.path)).join(', ');
    return `${done}, before the artifact upload finished. The files are on the runner: ${paths}.`;
  }

  /** Cancelled mid-create: the task may exist, and only its external id can find it. */
  private pendingCreateNote(): string {
    if (this.task || !this.externalTaskId) return '';
    return (
      ` A create request for external id ${this.externalTaskId} may have reached the API;` +
      ' a re-run of this job finds that task instead of paying for another.'
    );
  }

  /** The job summary as Markdown. */
  summary(ending: Ending): string {
    const task = this.task;
    const elapsed = formatDuration(this.context.clock.now() - this.context.startedMs);
    const lines: string[] = [`## ${headline(ending, task)}`, ''];
    const rows: [string, string][] = [];
    if (task) rows.push(['Task', `${markdownCode(task.taskId)}${this.resumed ? ' (resumed)' : ''}`]);
    if (this.externalTaskId) rows.push(['External id', markdownCode(this.externalTaskId)]);
    rows.push([
      'Status',
      task
        ? `${task.status}${task.statusMessage ? `: ${markdownCode(task.statusMessage)}` : ''}`
        : 'not submitted',
    ]);
    rows.push(['Provider', this.context.provider]);
    rows.push(['Source', escape(this.context.source)]);
    rows.push(['Time', `${elapsed}${this.timeline()}`]);
    const seconds = task && this.primaryDuration(task);
    if (seconds !== undefined) rows.push(['Audio duration', `${seconds} s`]);
    const cost = task?.billing && describeBilling(task.billing);
    if (this.fromCache)
      rows.push([
        'Cache',
        `restored from an earlier run, no task paid for${cost ? ` (it saved ${cost})` : ''}`,
      ]);
    else if (cost) rows.push(['Billed', cost]);
    if (this.uploaded.length > 0)
      rows.push([this.uploaded.length > 1 ? 'Artifacts' : 'Artifact', this.artifactLinks('<br>')]);
    else if (this.artifactNote) rows.push(['Artifact', escape(this.artifactNote)]);
    lines.push('| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`), '');

    if (this.files.length > 0) {
      lines.push('| File | Size |', '|---|---|');
      for (const f of this.files)
        lines.push(`| ${markdownCode(this.displayPath(f.path))} | ${formatBytes(f.bytes)} |`);
      lines.push('');
    }
    const advice =
      ending.kind === 'cancelled' && !task && this.externalTaskId
        ? `> [!WARNING]\n>${this.pendingCreateNote()}`
        : ending.kind === 'cancelled' && task?.status === 'succeed'
          ? `> [!NOTE]\n> The step was cancelled (${ending.signal}) ${escape(this.afterSuccessNote(task))}`
          : nextStep(ending, task);
    if (advice) lines.push(advice, '');
    return lines.join('\n');
  }

  private displayPath(file: string): string {
    const relative = path.relative(this.context.workspace, file);
    return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
  }

  private timeline(): string {
    const start = this.context.startedMs;
    const steps = this.statusChanges.map((s) => `${s.status} at ${formatDuration(s.atMs - start)}`);
    return steps.length > 1 ? ` (${steps.join(', ')})` : '';
  }
}

function headline(ending: Ending, task: Task | undefined): string {
  switch (ending.kind) {
    case 'succeeded':
      return 'Kling video-to-audio: done';
    case 'submitted':
      return 'Kling video-to-audio: submitted';
    case 'timeout':
      return task?.status === 'succeed'
        ? 'Kling video-to-audio: done, but the files did not arrive before the deadline'
        : 'Kling video-to-audio: still running at the deadline';
    case 'cancelled':
      return task && task.status !== 'succeed' && task.status !== 'failed'
        ? 'Kling video-to-audio: cancelled; the task is still running'
        : 'Kling video-to-audio: cancelled';
    case 'failed':
      return 'Kling video-to-audio: failed';
  }
}

function nextStep(ending: Ending, task: Task | undefined): string | undefined {
  const running = task && task.status !== 'succeed' && task.status !== 'failed';
  const resume = task ? `Resume it with \`${Inputs.TaskId}: ${task.taskId}\` in a later step or run.` : '';
  switch (ending.kind) {
    case 'succeeded':
      return undefined;
    case 'submitted':
      return task ? `Not waited for (\`${Inputs.Wait}: false\`). ${resume}` : undefined;
    case 'timeout':
      return `> [!WARNING]\n> ${escape(ending.message)}`;
    case 'cancelled':
      return running
        ? `> [!WARNING]\n> The step was cancelled (${ending.signal}) while task \`${task.taskId}\` was ${task.status}. Kling has no cancel endpoint, so it keeps running. ${resume}`
        : `> [!NOTE]\n> The step was cancelled (${ending.signal}).${task ? ` ${resume}` : ''}`;
    case 'failed':
      return `> [!CAUTION]\n> ${escape(ending.message)}${running ? `\n>\n> Task \`${task.taskId}\` is still ${task.status}. ${resume}` : ''}`;
  }
}

/** What the task cost, or what a cached result saved (it cost nothing this time). */
function costCell(task: Task | undefined, cached: boolean): string {
  const cost = task?.billing && describeBilling(task.billing);
  if (cached) return cost ? `none (saved ${cost})` : 'none (cache)';
  return cost ?? '–';
}

function describeBilling(billing: TaskBilling): string | undefined {
  const { units, quota, listPrice } = billing;
  const parts = [
    units !== undefined ? `${amount(units)} unit${units === '1' ? '' : 's'}` : undefined,
    quota !== undefined
      ? `${amount(quota)} from the balance${listPrice !== undefined ? ` (list price ${amount(listPrice)})` : ''}`
      : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** The server's figure as is when it is a number, else as code (it could be any text). */
function amount(text: string): string {
  return /^-?\d+(\.\d+)?$/.test(text) ? text : markdownCode(text, 40);
}

/**
 * Text of ours that may quote a server or a user (error messages, the source URL) as Markdown that
 * renders as written: no HTML, no images or links, no autolinks, one table cell.
 */
export function escape(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\[\]!|])/g, '\\$1')
    .replace(/:\/\//g, ':&#8203;//')
    .replace(/\bwww\./gi, 'www&#8203;.');
}
