/**
 * Parsing of API bodies into typed values. Pure: text in, data or failure facts out.
 * Accepts Kling's envelope `{code, message, request_id, data}`, CometAPI's `{error: {...}}`,
 * and the older wrapped CometAPI query shape (`data.status`, result under `data.data`).
 */
import { quoteExternal } from '../net/external-text.ts';
import type { FailureFacts } from './errors.ts';

export type TaskStatus = 'submitted' | 'processing' | 'succeed' | 'failed';

export interface TaskAudio {
  id?: string;
  mp3Url?: string;
  wavUrl?: string;
  /** Seconds, exactly as the API wrote them ("5.000"): the `duration` output promises the API's value. */
  mp3Duration?: string;
  wavDuration?: string;
}

export interface TaskVideo {
  id?: string;
  url: string;
  durationSeconds?: number;
}

export interface Task {
  taskId: string;
  status: TaskStatus;
  statusMessage?: string;
  externalTaskId?: string;
  audios: TaskAudio[];
  videos: TaskVideo[];
  createdAt?: number;
  updatedAt?: number;
  /** What the task cost, as the API wrote it (all optional: older answers carry none). */
  billing?: TaskBilling;
}

export interface TaskBilling {
  /** `final_unit_deduction`: resource-pack units deducted. */
  units?: string;
  /** `final_balance_deduction`: the amount taken from the account balance, and its list price. */
  quota?: string;
  listPrice?: string;
}

export type Envelope =
  { ok: true; data: unknown; requestId?: string } | { ok: false; facts: FailureFacts; requestId?: string };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function num(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Reads any API answer. `status` is the HTTP status; `text` the raw body. */
export function parseEnvelope(status: number, text: string): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, facts: { status, malformed: true, message: snippet(text) } };
  }
  if (!isObject(body)) return { ok: false, facts: { status, malformed: true, message: snippet(text) } };

  const requestId = str(body.request_id) ?? str(body.requestId);
  if (isObject(body.error)) {
    const error = body.error;
    const message = str(error.message);
    return {
      ok: false,
      requestId: requestId ?? requestIdFromText(message),
      facts: { status, cometCode: str(error.code) ?? '', message },
    };
  }
  const code = body.code;
  const message = str(body.message) ?? str(body.msg);
  const success = code === 0 || code === '0' || (typeof code === 'string' && /^success$/i.test(code));
  if (status >= 200 && status < 300 && success) return { ok: true, data: body.data, requestId };
  const klingCode = num(code);
  if (klingCode !== undefined && klingCode !== 0)
    return { ok: false, requestId, facts: { status, klingCode, message } };
  if (status >= 200 && status < 300)
    return { ok: false, requestId, facts: { status, malformed: true, message } };
  return { ok: false, requestId, facts: { status, message } };
}

const WRAPPED_STATUS: Record<string, TaskStatus> = {
  NOT_START: 'submitted',
  SUBMITTED: 'submitted',
  QUEUED: 'submitted',
  IN_PROGRESS: 'processing',
  PROCESSING: 'processing',
  SUCCESS: 'succeed',
  FAILURE: 'failed',
};

const STATUSES: readonly string[] = ['submitted', 'processing', 'succeed', 'failed'];

/** A task object from a create or query `data`; undefined when it is not one. */
export function parseTask(data: unknown): Task | undefined {
  if (!isObject(data)) return undefined;
  // Older CometAPI shape: outer `status`, the Kling object under `data.data`.
  const inner = isObject(data.data) ? data.data : undefined;
  const source = inner && (inner.task_status !== undefined || inner.task_result !== undefined) ? inner : data;

  const taskId = str(source.task_id) ?? str(data.task_id);
  const rawStatus = str(source.task_status) ?? str(data.task_status);
  const wrapped = str(data.status);
  const status =
    rawStatus && STATUSES.includes(rawStatus.toLowerCase())
      ? (rawStatus.toLowerCase() as TaskStatus)
      : wrapped
        ? WRAPPED_STATUS[wrapped.toUpperCase()]
        : undefined;
  if (!taskId || !isPlausibleTaskId(taskId) || !status) return undefined;

  const info = isObject(source.task_info) ? source.task_info : {};
  const result = isObject(source.task_result) ? source.task_result : {};
  const audios = Array.isArray(result.audios) ? result.audios.filter(isObject).map(parseAudio) : [];
  const videos = Array.isArray(result.videos)
    ? result.videos.filter(isObject).flatMap((v) => {
        const url = str(v.url);
        return url ? [{ id: str(v.id), url, durationSeconds: num(v.duration) }] : [];
      })
    : [];
  return {
    taskId,
    status,
    statusMessage: str(source.task_status_msg) ?? str(data.fail_reason),
    externalTaskId: plausibleOrNone(str(info.external_task_id)),
    audios,
    videos,
    createdAt: num(source.created_at),
    updatedAt: num(source.updated_at),
    ...billingOf(source),
  };
}

function billingOf(source: Json): { billing?: TaskBilling } {
  const balance = isObject(source.final_balance_deduction) ? source.final_balance_deduction : {};
  const billing: TaskBilling = {
    units: str(source.final_unit_deduction),
    quota: str(balance.quota),
    listPrice: str(balance.list_price),
  };
  const known = Object.fromEntries(Object.entries(billing).filter(([, v]) => v !== undefined));
  return Object.keys(known).length > 0 ? { billing: known } : {};
}

function parseAudio(a: Json): TaskAudio {
  return {
    id: str(a.id),
    mp3Url: str(a.url_mp3),
    wavUrl: str(a.url_wav),
    mp3Duration: durationText(a.duration_mp3),
    wavDuration: durationText(a.duration_wav),
  };
}

/** A duration as the API wrote it, when it is a number of seconds at all. */
function durationText(value: unknown): string | undefined {
  return num(value) === undefined ? undefined : String(value).trim();
}

/**
 * Task ids become file names, artifact names and log text: one that could not be an id (line breaks,
 * slashes, `..`, control characters, absurd length) is an answer not to trust, not a task.
 */
function isPlausibleTaskId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._:=+-]{0,127}$/.test(id) && !id.includes('..');
}

/** An external id the API echoes is ours, but an answer could hold anything: keep only a plausible one. */
function plausibleOrNone(id: string | undefined): string | undefined {
  return id !== undefined && isPlausibleTaskId(id) ? id : undefined;
}

/** Why `data` is not a task, in words that say what the API sent. */
export function whyNotATask(data: unknown): string {
  if (data === null || data === undefined) return `its data is ${data === null ? 'null' : 'missing'}`;
  if (!isObject(data)) return `its data is ${Array.isArray(data) ? 'a list' : typeof data}, not a task`;
  const inner = isObject(data.data) ? data.data : data;
  const taskId = str(inner.task_id) ?? str(data.task_id);
  if (!taskId) return 'it carries no task_id';
  // Described, not quoted: an id built to inject text has nothing worth repeating.
  if (!isPlausibleTaskId(taskId))
    return `its task_id (${describeImplausible(taskId)}) is not a plausible task id`;
  const status = str(inner.task_status) ?? str(data.task_status) ?? str(data.status);
  if (!status) return `task ${taskId} carries no task_status`;
  return `task ${taskId} has the status "${quoteExternal(status, 40)}", which the API does not document`;
}

function describeImplausible(id: string): string {
  const traits = [
    `${[...id].length} characters`,
    /\p{Cc}/u.test(id) ? 'line breaks or control characters' : undefined,
    /[/\\]|\.\./.test(id) ? 'a path' : undefined,
  ].filter(Boolean);
  return traits.join(', with ');
}

/** The list endpoint's `data`: an array of tasks. */
export function parseTaskList(data: unknown): Task[] {
  return Array.isArray(data) ? data.map(parseTask).filter((t): t is Task => t !== undefined) : [];
}

/** A cut is marked (`…`), so what follows can tell a cut-off word, or secret, from a whole one. */
function snippet(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function requestIdFromText(message: string | undefined): string | undefined {
  return message?.match(/request id:\s*([\w-]+)/i)?.[1];
}
