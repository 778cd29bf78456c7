/**
 * A Kling video-to-audio API on 127.0.0.1, speaking both CometAPI's routes and Kling's own, for
 * end-to-end tests and the offline demo. It follows shared/reference/kling-api.md: tasks move through
 * a timeline, results are downloadable, and faults can be injected per route.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  answerStopped,
  closeServer,
  decodeSegment,
  drained,
  handleRequests,
  listen,
  parseJsonOrText,
  pause,
  readBody,
  untilAborted,
} from './loopback-server.ts';
import { checkCometAuth, checkKlingAuth } from './kling/auth.ts';
import type { Credentials } from './kling/auth.ts';
import { AccountConcurrency } from './kling/concurrency.ts';
import { cometErrorBody, FaultQueue, HTML_ERROR_PAGE } from './kling/faults.ts';
import {
  createdTaskData,
  klingError,
  klingOk,
  queriedTaskData,
  wrappedQueryBody,
} from './kling/responses.ts';
import { TaskStore, progressAt, type StoredTask } from './kling/tasks.ts';
import type {
  EmulatorTask,
  Fault,
  FaultRule,
  KlingEmulatorOptions,
  Provider,
  RecordedRequest,
  ResultFiles,
  ResultUrls,
  Route,
  Timeline,
} from './kling/types.ts';
import { createBodyProblem, isObject } from './kling/validation.ts';
import { fetchVideo, isLoopbackUrl, type VideoFetch, type VideoFetchMode } from './kling/video-fetch.ts';
import { buildTaskMedia } from './media.ts';
import type { TaskMedia } from './media.ts';

export { faults } from './kling/faults.ts';
export type * from './kling/types.ts';

export const DEFAULT_TIMELINE: Readonly<Required<Timeline>> = {
  submittedMs: 50,
  processingMs: 100,
  outcome: 'succeed',
  failMessage: 'Content risk control: the video could not be processed',
};

const FILE_TYPES = {
  'audio.mp3': { contentType: 'audio/mpeg', media: 'mp3' },
  'audio.wav': { contentType: 'audio/wav', media: 'wav' },
  'video.mp4': { contentType: 'video/mp4', media: 'mp4' },
} as const;
type FileName = keyof typeof FILE_TYPES;

type Endpoint =
  | { kind: 'create'; provider: Provider }
  | { kind: 'query'; provider: Provider; id: string }
  | { kind: 'list' }
  | { kind: 'download'; taskId: string; file: FileName }
  | { kind: 'other'; status: number; body: unknown };

const ROUTE_OF: Record<Endpoint['kind'], Route | 'other'> = {
  create: 'create',
  query: 'query',
  list: 'query',
  download: 'download',
  other: 'other',
};

const API_PATH = /^(\/kling)?\/v1\/audio\/video-to-audio(?:\/([^/]+))?$/;
// Result files live under /files/<encoded task_id>/; a redirect fault sends the client to the same
// file under /cdn.
const FILE_PATH = /^\/(?:files|cdn)\/([^/]+)\/(audio\.mp3|audio\.wav|video\.mp4)$/;

export class KlingEmulator {
  /** 'http://127.0.0.1:PORT', no trailing slash. */
  readonly url: string;
  readonly #server: Server;
  readonly #credentials: Credentials;
  readonly #cometShape: 'native' | 'wrapped';
  readonly #audioSeconds: number;
  readonly #store = new TaskStore();
  readonly #faults = new FaultQueue();
  readonly #requests: RecordedRequest[] = [];
  readonly #awaited = new Set<{ route: Route | 'other'; arrived: (request: RecordedRequest) => void }>();
  readonly #media = new Map<string, TaskMedia>();
  // Aborted by close(), so delayed answers stop waiting.
  readonly #closing = new AbortController();
  #timeline: Required<Timeline>;
  #skewMs = 0;
  #resultUrls: ResultUrls | undefined;
  readonly #concurrency: AccountConcurrency;
  #videoFetch: VideoFetchMode;
  readonly #videoFetches: VideoFetch[] = [];
  readonly #fetching = new Map<string, Promise<void>>();

  private constructor(server: Server, url: string, options: KlingEmulatorOptions) {
    this.#server = server;
    this.url = url;
    const secrets = Object.entries(options.accessKeys ?? {}).map(([access, secret]) => {
      return [access, new TextEncoder().encode(secret)] as const;
    });
    this.#credentials = {
      apiKeys: new Set(options.apiKeys ?? ['test-api-key']),
      accessKeys: new Map(secrets),
    };
    this.#cometShape = options.cometResponseShape ?? 'native';
    this.#audioSeconds = options.audioSeconds ?? 5;
    this.#timeline = withChanges(DEFAULT_TIMELINE, options.timeline ?? {});
    this.#resultUrls = options.resultUrls;
    this.#concurrency = new AccountConcurrency(options.accountConcurrency);
    this.#videoFetch = options.videoFetch ?? 'loopback';
    handleRequests(server, 'kling emulator', (request, response) => this.#handle(request, response));
  }

  static async start(options: KlingEmulatorOptions = {}): Promise<KlingEmulator> {
    const server = createServer();
    return new KlingEmulator(server, await listen(server), options);
  }

  /** Every task created, by task_id. */
  get tasks(): ReadonlyMap<string, EmulatorTask> {
    return this.#store.byId;
  }

  /** Every request received, in arrival order; `status` is filled in when the answer goes out. */
  get requests(): readonly RecordedRequest[] {
    return this.#requests;
  }

  /**
   * Resolves with the next request on `route` to arrive, as soon as it is recorded (before it is
   * answered): lets a test act at a moment of the client's, however long a loaded machine took to
   * get there.
   */
  nextRequest(route: Route | 'other'): Promise<RecordedRequest> {
    return new Promise((arrived) => this.#awaited.add({ route, arrived }));
  }

  inject(rule: FaultRule): void {
    this.#faults.add(rule);
  }

  /** Applies to tasks created afterwards. */
  setTimeline(timeline: Partial<Timeline>): void {
    this.#timeline = withChanges(this.#timeline, timeline);
  }

  /**
   * The next task created gets this task_id instead of an 18-digit one, however hostile (newlines,
   * `../`, `/`, 500 characters…). Called several times, the ids go to the next tasks in order. It is
   * queried, listed and (URL-encoded in the path) downloaded like any other. Throws if already taken.
   */
  setNextTaskId(id: string): void {
    this.#store.chooseNextId(id);
  }

  /**
   * Chooses the result URLs succeeded tasks show from now on (any string: file:, data:, ftp:, other
   * hosts…); undefined restores the emulator's own. The emulator still serves its own files.
   */
  setResultUrls(resultUrls: ResultUrls | undefined): void {
    this.#resultUrls = resultUrls;
  }

  /**
   * How many tasks the account may have `submitted` or `processing` at once, over both route families
   * and every key; undefined (or Infinity) is unlimited. A create beyond it is refused with 429 code
   * 1303 and creates nothing. Applies to the next create, counting the tasks already running.
   */
  setAccountConcurrency(limit: number | undefined): void {
    this.#concurrency.limit = limit;
  }

  /**
   * Another user of the account holds `count` slots for `forMs` (Infinity: until released): they
   * count against the limit, not as tasks, nor in peakConcurrency. Returns a function that frees
   * them early.
   */
  occupySlots(count: number, forMs: number): () => void {
    return this.#concurrency.occupy(count, forMs, performance.now());
  }

  /**
   * The most tasks of the account's own (both route families) ever `submitted` or `processing` at
   * the same moment, worked out exactly from the task timelines; occupied slots are not included.
   */
  get peakConcurrency(): number {
    return this.#concurrency.peak;
  }

  /** How many creates were refused with 429 code 1303 by the concurrency limit. */
  get concurrencyRefusals(): number {
    return this.#concurrency.refusals;
  }

  /**
   * Whether creates fetch their video_url as Kling does: 'loopback' (the default) fetches URLs on
   * 127.0.0.1/localhost and fails the task if the fetch fails (an expired or refused presigned URL, a
   * 404, not an MP4/MOV, over 100 MB); other hosts are never fetched (tests have no network). 'off'
   * fetches nothing. Applies to tasks created afterwards.
   */
  setVideoFetch(mode: VideoFetchMode): void {
    this.#videoFetch = mode;
  }

  /** Every video fetch made, in task creation order; each record fills in as its fetch goes. */
  get videoFetches(): readonly VideoFetch[] {
    return this.#videoFetches;
  }

  /** Resolves once the task's video fetch has ended (at once when it made none); its record or undefined. */
  async videoFetched(taskId: string): Promise<VideoFetch | undefined> {
    await this.#fetching.get(taskId);
    return this.#videoFetches.find((fetch) => fetch.taskId === taskId);
  }

  /** Shifts the emulator's "now" for JWT checks and timestamps; task timelines are unaffected. */
  setClockSkewMs(ms: number): void {
    this.#skewMs = ms;
  }

  /** The exact bytes served for a task's result files. */
  media(taskId: string): TaskMedia {
    let media = this.#media.get(taskId);
    if (!media) {
      media = buildTaskMedia(taskId, this.#resultSeconds(taskId));
      this.#media.set(taskId, media);
    }
    return media;
  }

  /** Stops listening and ends every open connection, keep-alive ones included. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await closeServer(this.#server);
  }

  #now(): number {
    return Date.now() + this.#skewMs;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const atMs = performance.now();
    const url = new URL(request.url ?? '/', this.url);
    const method = request.method ?? 'GET';
    const body = parseBody(await readBody(request));
    const endpoint = matchEndpoint(method, url.pathname);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(request.headers.authorization === undefined
        ? {}
        : { authorization: request.headers.authorization }),
      ...(body === undefined ? {} : { body }),
      ...(request.headers.range === undefined ? {} : { range: request.headers.range }),
      headers: { ...request.headers },
      route: ROUTE_OF[endpoint.kind],
      status: 0,
      atMs,
    };
    this.#requests.push(record);
    for (const waiter of this.#awaited)
      if (waiter.route === record.route) {
        this.#awaited.delete(waiter);
        waiter.arrived(record);
      }
    const exchange = new Exchange(request, response, record, this.#closing.signal);

    const subject =
      endpoint.kind === 'query' ? endpoint.id : endpoint.kind === 'download' ? endpoint.taskId : undefined;
    const fault = record.route === 'other' ? undefined : this.#faults.take(record.route, subject);
    if (fault?.kind === 'delay' && !(await this.#waitUnlessClosed(fault.ms))) return;
    if (fault?.kind === 'hang') return exchange.hang();
    if (fault?.kind === 'huge-body') {
      // A create has no task behind it: any well-formed id will do.
      const taskId = endpoint.kind === 'query' ? endpoint.id : '860000000000000000';
      return exchange.hugeJson(Math.round(fault.megabytes * MIB), fault.chunked === true, taskId);
    }
    if (fault?.kind === 'echo-authorization') {
      const { status, body } = echoingError(fault, request.headers.authorization ?? '');
      return exchange.json(status, body);
    }
    if (answerInstead(exchange, fault)) return;
    exchange.replacement = answerAfterWork(fault);
    if (fault?.kind === 'undocumented-status') exchange.taskStatus = fault.status;
    if (fault?.kind === 'another-task') exchange.anotherTask = fault.taskId ?? '';

    switch (endpoint.kind) {
      case 'create':
        return this.#create(exchange, endpoint.provider, body);
      case 'query':
        return this.#query(exchange, endpoint.provider, endpoint.id);
      case 'list':
        return this.#list(exchange, url.searchParams);
      case 'download':
        return this.#download(exchange, endpoint.taskId, endpoint.file, fault);
      case 'other':
        return exchange.json(endpoint.status, endpoint.body);
    }
  }

  /** False when the emulator closed while waiting: the connection is gone, so there is nothing to answer. */
  #waitUnlessClosed(ms: number): Promise<boolean> {
    return pause(ms, this.#closing.signal);
  }

  /** Answers the refusal and returns false when the credential is not accepted on this provider's routes. */
  async #authorize(exchange: Exchange, provider: Provider): Promise<boolean> {
    const header = exchange.request.headers.authorization;
    const rejection =
      provider === 'cometapi'
        ? checkCometAuth(header, this.#credentials)
        : await checkKlingAuth(header, this.#credentials, this.#now());
    if (rejection) exchange.json(rejection.status, rejection.body);
    return !rejection;
  }

  async #create(exchange: Exchange, provider: Provider, body: unknown): Promise<void> {
    if (!(await this.#authorize(exchange, provider))) return;
    if (!isObject(body)) {
      return exchange.json(400, klingError(1200, 'Invalid request parameters: body must be a JSON object'));
    }
    const problem = createBodyProblem(body);
    if (problem) return exchange.json(400, klingError(1201, problem));
    const externalId = body['external_task_id'];
    if (typeof externalId === 'string' && this.#store.findByExternalId(provider, externalId)) {
      return exchange.json(400, klingError(1201, 'external_task_id already exists'));
    }
    // From here to the task's creation nothing is awaited, so concurrent creates cannot share a slot.
    const now = performance.now();
    if (!this.#concurrency.admit(this.#store.runningAt(now), now)) {
      return exchange.json(429, klingError(1303, 'parallel task over resource pack limit'));
    }
    const task = this.#store.create(provider, body, this.#now(), this.#timeline, now);
    this.#concurrency.started(this.#store.runningAt(now));
    const videoUrl = body['video_url'];
    if (this.#videoFetch === 'loopback' && typeof videoUrl === 'string' && isLoopbackUrl(videoUrl)) {
      const record: VideoFetch = {
        taskId: task.task_id,
        url: videoUrl,
        state: 'pending',
        status: 0,
        bytes: 0,
        startedAtMs: now,
      };
      task.videoFetch = record;
      this.#videoFetches.push(record);
      this.#fetching.set(task.task_id, fetchVideo(record, this.#closing.signal));
    }
    const shown = this.#another(exchange, provider, task.task_id) ?? task;
    exchange.json(200, klingOk(exchange.shown(createdTaskData(shown))));
  }

  /** The task an another-task fault shows instead of `asked`; undefined without one (or none to show). */
  #another(exchange: Exchange, provider: Provider, asked: string): StoredTask | undefined {
    const chosen = exchange.anotherTask;
    if (chosen === undefined) return undefined;
    if (chosen !== '') return this.#store.byId.get(chosen);
    return this.#store.newestFirst(provider).find((task) => task.task_id !== asked);
  }

  async #query(exchange: Exchange, provider: Provider, id: string): Promise<void> {
    if (!(await this.#authorize(exchange, provider))) return;
    const found = this.#store.find(provider, id);
    if (!found) return exchange.json(404, klingError(1203, `task ${id} does not exist`));
    const task = this.#another(exchange, provider, found.task_id) ?? found;
    const progress = progressAt(task, performance.now());
    const data = exchange.shown(
      queriedTaskData(task, progress, this.#resultFiles(task.task_id), this.#resultSeconds(task.task_id)),
    );
    const wrapped = provider === 'cometapi' && this.#cometShape === 'wrapped';
    exchange.json(200, wrapped ? wrappedQueryBody(task, progress, data, exchange.taskStatus) : klingOk(data));
  }

  /** Official only (CometAPI documents no list): newest first, one page. */
  async #list(exchange: Exchange, params: URLSearchParams): Promise<void> {
    if (!(await this.#authorize(exchange, 'kling'))) return;
    const pageNum = pageParameter(params, 'pageNum', 1, 1000);
    const pageSize = pageParameter(params, 'pageSize', 30, 500);
    if (typeof pageNum === 'string') return exchange.json(400, klingError(1201, pageNum));
    if (typeof pageSize === 'string') return exchange.json(400, klingError(1201, pageSize));
    const now = performance.now();
    const page = this.#store.newestFirst('kling').slice((pageNum - 1) * pageSize, pageNum * pageSize);
    const data = page.map((task) => {
      return exchange.shown(
        queriedTaskData(
          task,
          progressAt(task, now),
          this.#resultFiles(task.task_id),
          this.#resultSeconds(task.task_id),
        ),
      );
    });
    exchange.json(200, klingOk(data));
  }

  /** Result files need no credential (reference §3.1) and exist only once the task has succeeded. */
  #download(
    exchange: Exchange,
    taskId: string,
    file: FileName,
    fault: Fault | undefined,
  ): void | Promise<void> {
    const task = this.#store.byId.get(taskId);
    if (!task || progressAt(task, performance.now()).status !== 'succeed') {
      return exchange.raw(404, 'text/plain', 'Not Found');
    }
    const { contentType, media } = FILE_TYPES[file];
    const bytes = this.media(taskId)[media];
    switch (fault?.kind) {
      case 'redirect':
        return exchange.redirect(
          fault.status ?? 302,
          `${this.url}/cdn/${encodeURIComponent(taskId)}/${file}`,
        );
      case 'html':
        return exchange.raw(200, 'text/html; charset=utf-8', HTML_ERROR_PAGE);
      case 'truncate':
        return exchange.truncatedFile(contentType, bytes, fault.bytes ?? Math.floor(bytes.length / 2));
      case 'trickle':
        return exchange.trickledFile(contentType, bytes, fault.bytesPerSecond);
      case 'stall':
        return exchange.stalledFile(contentType, bytes, fault.afterBytes ?? Math.floor(bytes.length / 2));
      default:
        return exchange.file(contentType, bytes);
    }
  }

  /** As long as the video the task fetched, as Kling's are; audioSeconds when it fetched none (or could not tell). */
  #resultSeconds(taskId: string): number {
    return this.#store.byId.get(taskId)?.videoFetch?.seconds ?? this.#audioSeconds;
  }

  #resultFiles(taskId: string): ResultFiles {
    const base = `${this.url}/files/${encodeURIComponent(taskId)}`;
    const own = { mp3: `${base}/audio.mp3`, wav: `${base}/audio.wav`, mp4: `${base}/video.mp4` };
    return this.#resultUrls ? this.#resultUrls(taskId, own) : own;
  }
}

/** One request and its answer; every way of answering records the status. */
class Exchange {
  readonly request: IncomingMessage;
  readonly #response: ServerResponse;
  readonly #record: RecordedRequest;
  readonly #closing: AbortSignal;
  #stopped: AbortSignal | undefined;
  /** Set by an *-after-register fault: the work is done, then this answer goes out instead of the real one. */
  replacement: Fault | undefined;
  /** Set by an undocumented-status fault: the task_status every task in the answer shows. */
  taskStatus: string | undefined;
  /** Set by an another-task fault: the task id the answer shows instead ('' for the newest other one). */
  anotherTask: string | undefined;

  constructor(
    request: IncomingMessage,
    response: ServerResponse,
    record: RecordedRequest,
    closing: AbortSignal,
  ) {
    this.request = request;
    this.#response = response;
    this.#record = record;
    this.#closing = closing;
  }

  /** Aborted once the connection is gone (client went away, or the answer ended) or the emulator closes. */
  get stopped(): AbortSignal {
    this.#stopped ??= answerStopped(this.#response, this.#closing);
    return this.#stopped;
  }

  /** A task's data as this answer shows it: with the undocumented status, if one is set. */
  shown(data: Record<string, unknown>): Record<string, unknown> {
    return this.taskStatus === undefined ? data : { ...data, task_status: this.taskStatus };
  }

  /** Never answers; resolves once the connection is gone or the emulator closes. */
  async hang(): Promise<void> {
    await untilAborted(this.stopped);
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.raw(status, 'application/json', JSON.stringify(body), headers);
  }

  raw(status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
    const replacement = this.replacement;
    if (replacement) {
      this.replacement = undefined;
      answerInstead(this, replacement);
      return;
    }
    const bytes = Buffer.from(body);
    this.#record.status = status;
    this.#response.writeHead(status, {
      ...headers,
      'Content-Type': contentType,
      'Content-Length': bytes.length,
    });
    this.#response.end(bytes);
  }

  redirect(status: number, location: string): void {
    this.#record.status = status;
    this.#response.writeHead(status, { Location: location, 'Content-Length': 0 });
    this.#response.end();
  }

  /**
   * GET sends the bytes, HEAD only their headers. Like a CDN, it carries a strong ETag and answers
   * `Range: bytes=N-` with 206 and the rest, unless If-Range names another version.
   */
  file(contentType: string, bytes: Buffer): void {
    const etag = etagOf(bytes);
    const range = /^bytes=(\d+)-$/.exec(this.request.headers.range ?? '');
    const ifRange = this.request.headers['if-range'];
    const from = range && (ifRange === undefined || ifRange === etag) ? Number(range[1]) : 0;
    const headers = { 'Content-Type': contentType, ETag: etag, 'Accept-Ranges': 'bytes' };
    if (from >= bytes.length) {
      this.#record.status = 416;
      this.#response.writeHead(416, { 'Content-Range': `bytes */${bytes.length}`, 'Content-Length': 0 });
      this.#response.end();
      return;
    }
    const status = from > 0 ? 206 : 200;
    this.#record.status = status;
    this.#response.writeHead(status, {
      ...headers,
      'Content-Length': bytes.length - from,
      ...(from > 0 ? { 'Content-Range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    this.#response.end(this.request.method === 'HEAD' ? undefined : bytes.subarray(from));
  }

  /** Announces every byte, sends only `sent` of them, then ends the connection. */
  truncatedFile(contentType: string, bytes: Buffer, sent: number): void {
    if (this.request.method === 'HEAD') return this.file(contentType, bytes);
    this.#fileHeaders(contentType, bytes);
    this.#response.write(bytes.subarray(0, Math.min(Math.max(0, sent), bytes.length - 1)));
    // end(), not destroy(): the partial body is still corked in the socket and must go out first.
    this.request.socket.end();
  }

  /** Announces every byte, then sends them `bytesPerSecond`, one small write per interval. */
  async trickledFile(contentType: string, bytes: Buffer, bytesPerSecond: number): Promise<void> {
    if (this.request.method === 'HEAD') return this.file(contentType, bytes);
    this.#fileHeaders(contentType, bytes);
    // About ten writes a second when the rate allows, else one byte per write.
    const step = Math.max(1, Math.floor(bytesPerSecond / 10));
    const intervalMs = (step * 1000) / bytesPerSecond;
    const startedAt = performance.now();
    for (let sent = 0, writes = 1; sent < bytes.length; writes += 1) {
      // Paced from the start, so timer lateness does not slow the rate down.
      const waitMs = startedAt + writes * intervalMs - performance.now();
      if (!(await pause(Math.max(0, waitMs), this.stopped))) return;
      const chunk = bytes.subarray(sent, sent + step);
      sent += chunk.length;
      if (!this.#response.write(chunk) && !(await drained(this.#response, this.stopped))) return;
    }
    this.#response.end();
  }

  /** Announces every byte, sends `sent` of them (at most all but one), then nothing, the connection open. */
  async stalledFile(contentType: string, bytes: Buffer, sent: number): Promise<void> {
    if (this.request.method === 'HEAD') return this.file(contentType, bytes);
    this.#fileHeaders(contentType, bytes);
    this.#response.write(bytes.subarray(0, Math.min(Math.max(0, sent), bytes.length - 1)));
    await untilAborted(this.stopped);
  }

  /**
   * 200 application/json: a valid Kling envelope exactly `totalBytes` long, the bulk a padding string
   * generated chunk by chunk as the client takes it. With a Content-Length unless `chunked`.
   */
  async hugeJson(totalBytes: number, chunked: boolean, taskId: string): Promise<void> {
    const head = Buffer.from(
      `{"code":0,"message":"SUCCEED","request_id":"${randomUUID()}","data":{"task_id":${JSON.stringify(taskId)},` +
        '"task_status":"processing","padding":"',
    );
    const tail = Buffer.from('"}}');
    let padding = totalBytes - head.length - tail.length;
    if (padding < 0) throw new RangeError(`a ${totalBytes}-byte body cannot hold the envelope`);
    this.#record.status = 200;
    this.#response.writeHead(200, {
      'Content-Type': 'application/json',
      ...(chunked ? {} : { 'Content-Length': totalBytes }),
    });
    this.#response.write(head);
    while (padding > 0) {
      if (this.stopped.aborted) return;
      const chunk = PADDING.subarray(0, Math.min(PADDING.length, padding));
      padding -= chunk.length;
      if (!this.#response.write(chunk) && !(await drained(this.#response, this.stopped))) return;
    }
    this.#response.end(tail);
  }

  /** 200 with the whole file's Content-Length, ETag and Accept-Ranges, sent at once. */
  #fileHeaders(contentType: string, bytes: Buffer): void {
    this.#record.status = 200;
    this.#response.writeHead(200, {
      'Content-Type': contentType,
      'Content-Length': bytes.length,
      ETag: etagOf(bytes),
      'Accept-Ranges': 'bytes',
    });
    this.#response.flushHeaders();
  }

  /** A TCP reset, so the client sees ECONNRESET rather than a clean close. */
  reset(): void {
    this.request.socket.resetAndDestroy();
  }
}

const MIB = 1024 * 1024;
// The huge body's padding, written again and again (the writes share it, so it is never copied).
const PADDING = Buffer.alloc(64 * 1024, 'x');

function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
}

/** Faults that replace the whole answer; true when one did. */
function answerInstead(exchange: Exchange, fault: Fault | undefined): boolean {
  switch (fault?.kind) {
    case 'error':
      exchange.json(fault.status, fault.body, fault.headers);
      return true;
    case 'raw':
      exchange.raw(fault.status, fault.contentType, fault.body);
      return true;
    case 'reset':
      exchange.reset();
      return true;
    default:
      return false;
  }
}

/** An error whose message quotes the Authorization header, in the provider's envelope. */
function echoingError(
  fault: Extract<Fault, { kind: 'echo-authorization' }>,
  authorization: string,
): { status: number; body: unknown } {
  const quoted = fault.encoding === 'uri' ? encodeURIComponent(authorization) : authorization;
  const message = `${fault.message} ${quoted}`;
  return {
    status: fault.status,
    body: fault.shape === 'cometapi' ? cometErrorBody(message) : klingError(fault.code ?? 1002, message),
  };
}

/** A field given as undefined keeps its value, so `{ ...options }` spreads cannot blank a timeline. */
function withChanges(timeline: Required<Timeline>, changes: Partial<Timeline>): Required<Timeline> {
  const given = Object.entries(changes).filter(([, value]) => value !== undefined);
  return { ...timeline, ...Object.fromEntries(given) };
}

/** What an *-after-register fault answers once the request has been handled. */
function answerAfterWork(fault: Fault | undefined): Fault | undefined {
  switch (fault?.kind) {
    case 'reset-after-register':
      return { kind: 'reset' };
    case 'error-after-register': {
      const body = fault.body ?? klingError(5000, 'Server internal error');
      return { kind: 'error', status: fault.status, body, headers: fault.headers };
    }
    default:
      return undefined;
  }
}

function matchEndpoint(method: string, pathname: string): Endpoint {
  const file = FILE_PATH.exec(pathname);
  if (file && (method === 'GET' || method === 'HEAD')) {
    return { kind: 'download', taskId: decodeSegment(file[1]!), file: file[2] as FileName };
  }
  const api = API_PATH.exec(pathname);
  if (!api) return { kind: 'other', status: 404, body: klingError(1203, `no such path: ${pathname}`) };
  const provider: Provider = api[1] ? 'cometapi' : 'kling';
  const id = api[2];
  if (id === undefined && method === 'POST') return { kind: 'create', provider };
  if (id !== undefined && method === 'GET') return { kind: 'query', provider, id: decodeSegment(id) };
  if (id === undefined && method === 'GET' && provider === 'kling') return { kind: 'list' };
  return {
    kind: 'other',
    status: 404,
    body: klingError(1202, `Invalid request method: ${method} ${pathname}`),
  };
}

/** A page parameter as a number, or the message explaining why it is refused. */
function pageParameter(
  params: URLSearchParams,
  name: string,
  fallback: number,
  max: number,
): number | string {
  const text = params.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < 1 || value > max) {
    return `${name} must be an integer from 1 to ${max}`;
  }
  return value;
}

/** JSON when it parses, else the raw text (so tests can see what was sent); undefined when empty. */
function parseBody(raw: Buffer): unknown {
  return raw.length === 0 ? undefined : parseJsonOrText(raw);
}
