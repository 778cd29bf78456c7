/**
 * Source videos on 127.0.0.1, served as a CDN serves them (HEAD, byte ranges, a strong ETag), for the
 * preflight to read: `/<name>-<seconds>s.mp4` is a real MP4 of that many seconds (1-60), its picture
 * and sound seeded by the name. Anything else is 404.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { closeServer, listen } from './loopback-server.ts';
import { buildMp4 } from './media.ts';

const VIDEO_PATH = /^\/([\w-]+)-(\d{1,2})s\.mp4$/;

export class VideoHost {
  /** 'http://127.0.0.1:PORT', no trailing slash. */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  readonly #server: Server;
  readonly #videos = new Map<string, Buffer>();

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
    server.on('request', (request, response) => {
      const path = new URL(request.url ?? '/', this.url).pathname;
      const match = VIDEO_PATH.exec(path);
      const seconds = Number(match?.[2]);
      const video = match && seconds >= 1 && seconds <= 60 ? this.#video(path, seconds) : undefined;
      const record = { method: request.method ?? 'GET', path, status: 404 };
      this.requests.push(record);
      if (!video || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
        return;
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const from = range ? Math.min(Number(range[1]), video.length - 1) : 0;
      const to = range?.[2] ? Math.min(Number(range[2]), video.length - 1) : video.length - 1;
      const headers = {
        'Content-Type': 'video/mp4',
        'Accept-Ranges': 'bytes',
        ETag: `"${match![1]}-${seconds}"`,
        'Content-Length': to - from + 1,
      };
      record.status = range ? 206 : 200;
      if (range)
        response.writeHead(206, { ...headers, 'Content-Range': `bytes ${from}-${to}/${video.length}` });
      else response.writeHead(200, headers);
      response.end(request.method === 'HEAD' ? undefined : video.subarray(from, to + 1));
    });
  }

  static async start(): Promise<VideoHost> {
    const server = createServer();
    return new VideoHost(server, await listen(server));
  }

  /** The URL of a real MP4 this host serves. */
  video(name: string, seconds: number): string {
    return `${this.url}/${name}-${seconds}s.mp4`;
  }

  #video(path: string, seconds: number): Buffer {
    let video = this.#videos.get(path);
    if (!video) {
      video = buildMp4(path, seconds);
      this.#videos.set(path, video);
    }
    return video;
  }

  async close(): Promise<void> {
    await closeServer(this.#server);
  }
}
