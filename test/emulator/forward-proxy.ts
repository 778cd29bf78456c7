/**
 * A forward proxy on 127.0.0.1, as on a self-hosted runner behind a company proxy: CONNECT tunnels
 * (what undici's proxy agents send, even for http targets) and absolute-form http requests. It
 * records what passed through it, and can refuse everything to prove nobody went around it.
 */
import http from 'node:http';
import net from 'node:net';
import { listen } from './loopback-server.ts';

export interface ProxiedRequest {
  kind: 'connect' | 'forward';
  /** host:port for a tunnel; the absolute URL for a forwarded request. */
  target: string;
}

export class ForwardProxy {
  readonly requests: ProxiedRequest[] = [];
  /** When set, every request is answered with this status instead of being passed on. */
  refuseWith: number | undefined;
  /** When set, requests without these Basic credentials get 407, as an authenticating proxy does. */
  credentials: { user: string; password: string } | undefined;
  readonly url: string;
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(server: http.Server, url: string) {
    this.server = server;
    this.url = url;
  }

  static async start(): Promise<ForwardProxy> {
    const server = http.createServer();
    const proxy = new ForwardProxy(server, await listen(server));
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    server.on('connect', (req, socket: net.Socket, head) => proxy.tunnel(req, socket, head));
    server.on('request', (req, res) => proxy.forward(req, res));
    return proxy;
  }

  /** Targets seen, deduplicated, in order: e.g. "127.0.0.1:4000". */
  targets(): string[] {
    return [...new Set(this.requests.map((r) => (r.kind === 'connect' ? r.target : new URL(r.target).host)))];
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private refusal(req: http.IncomingMessage): number | undefined {
    if (this.refuseWith !== undefined) return this.refuseWith;
    if (!this.credentials) return undefined;
    const { user, password } = this.credentials;
    const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    return req.headers['proxy-authorization'] === expected ? undefined : 407;
  }

  private tunnel(req: http.IncomingMessage, client: net.Socket, head: Buffer) {
    const target = req.url ?? '';
    this.requests.push({ kind: 'connect', target });
    const refusal = this.refusal(req);
    if (refusal !== undefined) {
      client.end(`HTTP/1.1 ${refusal} Refused by test proxy\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = splitHostPort(target);
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse) {
    const target = req.url ?? '';
    this.requests.push({ kind: 'forward', target });
    const refusal = this.refusal(req) ?? (/^http:\/\//.test(target) ? undefined : 400);
    if (refusal !== undefined) {
      res.writeHead(refusal).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = http.request(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}

function splitHostPort(target: string): [string, number] {
  const at = target.lastIndexOf(':');
  return [target.slice(0, at).replace(/^\[|\]$/g, ''), Number(target.slice(at + 1))];
}
