/** One request to the object store and its answer: S3's XML errors, bodies, faults. */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerStopped, pause, untilAborted } from '../loopback-server.ts';
import type { StoreRequest } from './types.ts';

/** An S3 error answer. */
export interface S3Error {
  status: number;
  code: string;
  message: string;
  /** More elements of <Error>, in order. */
  fields?: [string, string][];
  headers?: Record<string, string>;
}

/** One request and its answer; every way of answering records the status. */
export class Answer {
  readonly request: IncomingMessage;
  readonly #response: ServerResponse;
  readonly #record: StoreRequest;
  readonly #stopped: AbortSignal;
  #read = false;

  constructor(
    request: IncomingMessage,
    response: ServerResponse,
    record: StoreRequest,
    closing: AbortSignal,
  ) {
    this.request = request;
    this.#response = response;
    this.#record = record;
    this.#stopped = answerStopped(response, closing);
  }

  /** The whole body, at about `rate` bytes a second if given; undefined when the client left. */
  async readBody(rate?: number, hash = false): Promise<{ bytes: Buffer; sha256?: string } | undefined> {
    this.#read = true;
    const chunks: Buffer[] = [];
    const digest = hash ? createHash('sha256') : undefined;
    const startedAt = performance.now();
    try {
      for await (const chunk of this.request) {
        const bytes = chunk as Buffer;
        chunks.push(bytes);
        digest?.update(bytes);
        this.#record.bytesReceived += bytes.length;
        if (rate !== undefined) {
          const due = startedAt + (this.#record.bytesReceived / rate) * 1000 - performance.now();
          if (due > 0 && !(await pause(due, this.#stopped))) return undefined;
        }
      }
    } catch {
      return undefined;
    }
    return { bytes: Buffer.concat(chunks), ...(digest ? { sha256: digest.digest('hex') } : {}) };
  }

  /**
   * S3's XML error. Like S3, a refusal goes out before an unread body is taken, and the connection
   * then closes (the client sees the answer, not a broken pipe).
   */
  error(e: S3Error): void {
    this.#record.code = e.code;
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const fields = (e.fields ?? []).map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`).join('');
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message>${fields}` +
      `<RequestId>${requestId}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>`;
    const unread = !this.#read && this.request.method === 'PUT';
    this.#send(
      e.status,
      {
        ...e.headers,
        'Content-Type': 'application/xml',
        'x-amz-request-id': requestId,
        ...(unread ? { Connection: 'close' } : {}),
      },
      Buffer.from(xml),
    );
    if (unread) this.request.resume();
  }

  empty(status: number, headers: Record<string, string> = {}): void {
    this.#send(status, headers, Buffer.alloc(0));
  }

  /** The bytes at once, or paced at `rate` bytes a second. HEAD sends the headers only. */
  async bytes(
    status: number,
    headers: Record<string, string | number>,
    body: Buffer,
    rate?: number,
  ): Promise<void> {
    this.#record.status = status;
    this.#response.writeHead(status, headers);
    if (this.request.method === 'HEAD') return void this.#response.end();
    if (rate === undefined) return void this.#response.end(body);
    const step = Math.max(1, Math.floor(rate / 10));
    const startedAt = performance.now();
    for (let sent = 0; sent < body.length;) {
      const chunk = body.subarray(sent, sent + step);
      sent += chunk.length;
      this.#response.write(chunk);
      const due = startedAt + (sent / rate) * 1000 - performance.now();
      if (due > 0 && !(await pause(due, this.#stopped))) return;
    }
    this.#response.end();
  }

  async hang(): Promise<void> {
    this.request.resume();
    await untilAborted(this.#stopped);
  }

  reset(): void {
    this.request.socket.resetAndDestroy();
  }

  #send(status: number, headers: Record<string, string>, body: Buffer): void {
    this.#record.status = status;
    this.#response.writeHead(status, { ...headers, 'Content-Length': body.length });
    this.#response.end(this.request.method === 'HEAD' ? undefined : body);
  }
}

function xmlEscape(text: string): string {
  return text.replace(/[&<>]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt' }[c]};`);
}
