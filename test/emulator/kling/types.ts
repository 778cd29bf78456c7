/** The emulator's public types: end-to-end tests and the demo code against exactly these. */
import type { VideoFetchMode } from './video-fetch.ts';

export type { VideoFetch, VideoFetchMode } from './video-fetch.ts';

export interface Timeline {
  /** The task reports `submitted` for this long after creation. */
  submittedMs: number;
  /** Then `processing` for this long. */
  processingMs: number;
  /** Then terminal; 'never' stays `processing` forever. */
  outcome: 'succeed' | 'failed' | 'never';
  /** task_status_msg when failed. */
  failMessage?: string;
}

/** The list endpoint counts as 'query': it is a read, and real clients reconcile with it. */
export type Route = 'create' | 'query' | 'download';

export type Fault =
  /** Answer this JSON body with this status instead of handling the request. */
  | { kind: 'error'; status: number; body: unknown; headers?: Record<string, string> }
  /** Answer a raw body, e.g. an HTML page or malformed JSON with 200. */
  | { kind: 'raw'; status: number; contentType: string; body: string }
  /** Reset the connection without answering, before doing anything. */
  | { kind: 'reset' }
  /** Create only: register the task as normal, then reset the connection without answering. */
  | { kind: 'reset-after-register' }
  /** Create only: register the task as normal, then answer this error (default body: Kling code 5000). */
  | { kind: 'error-after-register'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Download only: send the full Content-Length, write only `bytes` (default half), close the socket. */
  | { kind: 'truncate'; bytes?: number }
  /** Download only: redirect to another emulator path that serves the same file. */
  | { kind: 'redirect'; status?: 301 | 302 | 307 }
  /** Download only: a 200 text/html error page instead of the media. */
  | { kind: 'html' }
  /** Wait, then handle normally. */
  | { kind: 'delay'; ms: number }
  /**
   * Any route: the request is read, not handled (create registers no task) and never answered. The
   * connection stays open until the client goes away or close() is called; the recorded status stays 0.
   */
  | { kind: 'hang' }
  /**
   * Download only: 200 headers with the full Content-Length at once, then the body at about
   * `bytesPerSecond` (one small write per interval, the first one interval after the headers), until
   * done, the client goes away or close() is called. Range is ignored; HEAD is answered normally.
   */
  | { kind: 'trickle'; bytesPerSecond: number }
  /**
   * Download only: 200 headers with the full Content-Length, the first `afterBytes` (default half,
   * at most all but one) of the body, then nothing more, with the connection left open until the
   * client goes away or close() is called. HEAD is answered normally.
   */
  | { kind: 'stall'; afterBytes?: number }
  /**
   * Create and query only, instead of handling (no task is created): 200 application/json, a valid
   * Kling envelope `{"code":0,"message":"SUCCEED","request_id":…,"data":{"task_id":…,
   * "task_status":"processing","padding":"xxx…"}}` exactly `megabytes` MiB (rounded to a byte) long,
   * generated while it streams out with backpressure respected, stopped when the client goes away.
   * With a Content-Length, or chunked without one when `chunked` is true. The task_id is the queried
   * id on the query route, a made-up one on create. Sizes too small for the envelope (about 130
   * bytes) are answered 500.
   */
  | { kind: 'huge-body'; megabytes: number; chunked?: boolean }
  /**
   * Create and query only: handle as normal (create registers the task), but every task in the
   * answer shows this task_status (the wrapped CometAPI shape's `status` too). Not-found and other
   * errors are answered unchanged.
   */
  | { kind: 'undocumented-status'; status: string }
  /**
   * Create and query only: handle as normal (create registers the task), but the answer shows
   * another task of the account, as that route shows it: `taskId`, or by default the newest task
   * other than the one created or asked for (answered normally when there is none). A gateway or
   * cache that mixes up answers does this.
   */
  | { kind: 'another-task'; taskId?: string }
  /**
   * Create and query only, instead of handling (no task is created): an error whose message quotes
   * the request's Authorization header, as gateways' error texts sometimes do. In CometAPI's envelope
   * (reference §4.2) or Kling's (§4.1, `code`); `encoding: 'uri'` quotes it URL-encoded.
   */
  | {
      kind: 'echo-authorization';
      status: number;
      shape: 'cometapi' | 'kling';
      code?: number;
      message: string;
      encoding?: 'raw' | 'uri';
    };

export interface FaultRule {
  route: Route;
  fault: Fault;
  /** Default 1; Infinity allowed. */
  times?: number;
  /**
   * Only requests about this id take the fault: a query (or look-up) whose path names it, or a
   * download of its files. Other requests on the route pass it by.
   */
  about?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  /** Parsed JSON, or the raw text when the body is not JSON; absent when empty. */
  body?: unknown;
  /** The Range header of a download that resumes. */
  range?: string;
  /** Every request header as Node parsed it (names lower-case), for checks on other credentials. */
  headers: Record<string, string | string[] | undefined>;
  route: Route | 'other';
  /** The HTTP status answered; 0 while unanswered or when the connection was reset instead. */
  status: number;
  /** When the request arrived, on a monotonic millisecond clock (performance.now()): compare two of them. */
  atMs: number;
}

export type Provider = 'cometapi' | 'kling';

/** The result URLs a succeeded task shows: audios[0].url_mp3, audios[0].url_wav, videos[0].url. */
export interface ResultFiles {
  mp3: string;
  wav: string;
  mp4: string;
}

/**
 * Chooses the result URLs of a succeeded task, called each time one is answered, with the
 * emulator's own (`defaults`, served by it under /files/<encoded task_id>/).
 */
export type ResultUrls = (taskId: string, defaults: ResultFiles) => ResultFiles;

export interface EmulatorTask {
  task_id: string;
  external_task_id?: string;
  created_at: number;
  /** The create request body as sent. */
  request: Record<string, unknown>;
  provider: Provider;
}

export interface KlingEmulatorOptions {
  /**
   * Whether a create fetches its video_url as Kling does (kling/video-fetch.ts): 'loopback' (default)
   * fetches URLs on 127.0.0.1/localhost and fails the task when that fetch fails; other hosts are
   * never fetched. 'off': no URL is fetched. See also setVideoFetch().
   */
  videoFetch?: VideoFetchMode;
  /** Bearer keys accepted on both route families (default ['test-api-key']). */
  apiKeys?: string[];
  /** Kling access_key → secret_key pairs whose HS256 JWTs are accepted on the official routes. */
  accessKeys?: Record<string, string>;
  /** Default { submittedMs: 50, processingMs: 100, outcome: 'succeed' }. */
  timeline?: Partial<Timeline>;
  /** Shape of CometAPI query answers (create stays native); default 'native'. */
  cometResponseShape?: 'native' | 'wrapped';
  /** Length of the served audio and video when the task fetched no video_url (else the video's length); default 5. */
  audioSeconds?: number;
  /** The result URLs succeeded tasks show; default the emulator's own. See also setResultUrls(). */
  resultUrls?: ResultUrls;
  /**
   * How many tasks the account may have `submitted` or `processing` at once (both route families,
   * every key); default unlimited. Beyond it a create is answered 429 code 1303 and creates nothing.
   * See also setAccountConcurrency() and occupySlots().
   */
  accountConcurrency?: number;
}
