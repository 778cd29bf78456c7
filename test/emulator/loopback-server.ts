/**
 * What every emulator's server shares, whatever it speaks: it listens on 127.0.0.1, a handler's bug
 * shows up as a 500 in the test that hit it instead of a hang, closing ends keep-alive connections
 * too, and waits end as soon as the emulator closes or the client goes away.
 */
import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Listens on 127.0.0.1 (port 0: any free one); resolves with the origin, 'http://127.0.0.1:PORT'. */
export function listen(server: Server, port = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** Stops listening and ends every open connection, keep-alive ones included. */
export async function closeServer(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

/** How an emulator words the 500 a bug in its handler is answered with. */
export type InternalErrorBody = (message: string) => { contentType: string; body: string };

const plainText: InternalErrorBody = (message) => ({
  contentType: 'text/plain',
  body: `emulator error: ${message}`,
});

/** Hands every request to `handle`; a handler that throws is logged as `name`'s and answered 500. */
export function handleRequests(
  server: Server,
  name: string,
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  errorBody: InternalErrorBody = plainText,
): void {
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) =>
      answerInternalError(response, error, name, errorBody),
    );
  });
}

function answerInternalError(
  response: ServerResponse,
  error: unknown,
  name: string,
  errorBody: InternalErrorBody,
): void {
  // The client went away (or close() ended the connection) while the request was read: no one to tell.
  if (!response.socket || response.socket.destroyed) return;
  console.error(`${name}: request handler failed`, error);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const { contentType, body } = errorBody(error instanceof Error ? error.message : String(error));
  response.writeHead(500, { 'Content-Type': contentType });
  response.end(body);
}

// ---- Waits that end when the emulator closes ----

/** False when the signal aborted before `ms` passed. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the signal aborts (at once if it has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Aborted once the answer is over or the connection gone, or when `closing` aborts. */
export function answerStopped(response: ServerResponse, closing: AbortSignal): AbortSignal {
  const gone = new AbortController();
  if (response.closed) gone.abort();
  else response.once('close', () => gone.abort());
  return AbortSignal.any([closing, gone.signal]);
}

/** Waits for the response to take more; false when the signal aborted first. */
export async function drained(response: ServerResponse, signal: AbortSignal): Promise<boolean> {
  try {
    await once(response, 'drain', { signal });
    return true;
  } catch {
    return false;
  }
}

// ---- Requests ----

export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** JSON when it parses, else the text (so tests can see what was sent). */
export function parseJsonOrText(raw: Buffer | string): unknown {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A path segment decoded, or as it is when it is not valid percent-encoding. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
