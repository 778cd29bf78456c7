/**
 * One request to the GitHub fake and its answer: the body read (or drained, so the connection stays
 * usable), and every way of answering, each with GitHub's common headers, recording the status.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { untilAborted, answerStopped } from '../loopback-server.ts';
import { DOCS, errorBody } from './faults.ts';
import type { RateLimit } from './rate-limit.ts';
import { DOCS_URL } from './routes.ts';
import type { TokenRecord } from './tokens.ts';
import type { GitHubFault, GitHubRecordedRequest, GitHubRoute } from './types.ts';

export type Json = Record<string, unknown>;

/** A JSON request body is read up to this; the rest is counted, not kept. */
const JSON_BODY_CAP = 25 * 1024 * 1024;

export class Exchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly record: GitHubRecordedRequest;
  readonly url: URL;
  /** The token the request carried, once authenticated; undefined without one. */
  token: TokenRecord | undefined;
  /** Set by an *-after-work fault: the work is done, then this goes out instead of the answer. */
  afterWork: GitHubFault | undefined;
  /** Set once the request body has been consumed (or deliberately abandoned). */
  bodyDone = false;
  readonly #rate: RateLimit;

  constructor(
    request: IncomingMessage,
    response: ServerResponse,
    record: GitHubRecordedRequest,
    url: URL,
    rate: RateLimit,
  ) {
    this.request = request;
    this.response = response;
    this.record = record;
    this.url = url;
    this.#rate = rate;
  }

  /** Never answers; resolves once the connection is gone or the fake closes. */
  async hang(closing: AbortSignal): Promise<void> {
    await untilAborted(answerStopped(this.response, closing));
  }

  /** Reads and discards whatever body remains, so the connection stays usable. */
  async drain(): Promise<void> {
    if (this.bodyDone) return;
    this.bodyDone = true;
    try {
      for await (const chunk of this.request) this.record.bodyBytes += (chunk as Buffer).length;
    } catch {
      // The client went away; there is nothing left to answer.
    }
  }

  /** The parsed JSON body, or undefined once 400 "Problems parsing JSON" has been answered. */
  async jsonBody(): Promise<unknown> {
    this.bodyDone = true;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.request) {
      size += (chunk as Buffer).length;
      if (size <= JSON_BODY_CAP) chunks.push(chunk as Buffer);
    }
    this.record.bodyBytes = size;
    const text = Buffer.concat(chunks).toString('utf8');
    // No body at all reads as no parameters; the route then says what is missing.
    if (text === '') return {};
    try {
      const parsed = JSON.parse(text) as unknown;
      this.record.body = parsed;
      return parsed;
    } catch {
      this.record.body = text;
      this.error(400, 'Problems parsing JSON');
      return undefined;
    }
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    // An *-after-work fault replaces successful answers only: refusals still go out as they are.
    if (status < 400 && this.#replaceAfterWork()) return;
    this.send(status, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(body)), headers);
  }

  error(status: number, message: string, route?: GitHubRoute): void {
    this.json(status, errorBody(status, message, route ? DOCS_URL[route] : DOCS));
  }

  validationFailed(route: GitHubRoute, error: Json): void {
    this.json(422, {
      message: 'Validation Failed',
      errors: [error],
      documentation_url: DOCS_URL[route],
      status: '422',
    });
  }

  noContent(): void {
    if (this.#replaceAfterWork()) return;
    this.record.status = 204;
    this.response.writeHead(204, this.#commonHeaders());
    this.response.end();
  }

  redirect(location: string): void {
    this.record.status = 302;
    this.response.writeHead(302, { ...this.#commonHeaders(), location, 'content-length': 0 });
    this.response.end();
  }

  send(status: number, contentType: string, bytes: Buffer, headers: Record<string, string>): void {
    const { response } = this;
    if (response.headersSent || response.destroyed) return;
    this.record.status = status;
    response.writeHead(status, {
      ...this.#commonHeaders(),
      'content-type': contentType,
      'content-length': bytes.length,
      ...headers,
    });
    response.end(bytes);
  }

  /** Sends the *-after-work fault instead of the answer, if one is pending. */
  #replaceAfterWork(): boolean {
    const fault = this.afterWork;
    if (!fault) return false;
    this.afterWork = undefined;
    if (fault.kind === 'reset-after-work') {
      this.request.socket.destroy();
      return true;
    }
    if (fault.kind === 'error-after-work') {
      const body = fault.body ?? { message: 'Bad Gateway' };
      this.json(fault.status, body, fault.headers ?? {});
      return true;
    }
    return false;
  }

  #commonHeaders(): Record<string, string> {
    return {
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      // A refused token learns nothing of the limit.
      ...(this.token || this.request.headers.authorization === undefined ? this.#rate.headers() : {}),
    };
  }
}
