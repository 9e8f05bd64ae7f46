import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { S3Target } from '../s3-store.js';

/**
 * What the proxy does to each request:
 * - `pass`: forwards it to the S3 test server;
 * - `refuse`: nothing listens on the port (ECONNREFUSED), open connections are dropped;
 * - `blackhole`: accepts and reads everything, never answers (requests in flight are never answered either);
 * - `503`, `403`, `429`: answers with that status and an S3 error body (ServiceUnavailable, AccessDenied, SlowDown);
 * - `reset`: resets the connection (TCP RST) as the request arrives;
 * - `close-mid-body`: closes the connection half-way through the request body (an upload) or, for a request
 *   without one, half-way through the response body (a download).
 */
export type FaultMode = 'pass' | 'refuse' | 'blackhole' | '503' | '403' | '429' | 'reset' | 'close-mid-body';

export interface FaultProxy {
  /** The S3 test server's target, with the proxy's endpoint. */
  target: S3Target;
  readonly mode: FaultMode;
  setMode(mode: FaultMode): Promise<void>;
  /** Requests seen per mode (for assertions that a fault was met). */
  readonly requests: Record<FaultMode, number>;
  stop(): Promise<void>;
}

const S3_ERRORS: Record<'503' | '403' | '429', { status: number; code: string; message: string }> = {
  '503': { status: 503, code: 'ServiceUnavailable', message: 'Please reduce your request rate.' },
  '403': { status: 403, code: 'AccessDenied', message: 'Access Denied' },
  '429': { status: 429, code: 'SlowDown', message: 'Please reduce your request rate.' },
};

/**
 * A fault-injecting HTTP proxy on loopback in front of `upstream` (the S3 test server), for daemon-level
 * tests of outages. `initialMode` applies from the first request, so a daemon can boot into a fault.
 */
export async function startFaultProxy(upstream: S3Target, initialMode: FaultMode = 'pass'): Promise<FaultProxy> {
  const origin = new URL(upstream.endpoint);
  let mode: FaultMode = initialMode;
  const requests = Object.fromEntries((['pass', 'refuse', 'blackhole', '503', '403', '429', 'reset', 'close-mid-body'] as FaultMode[]).map((m) => [m, 0])) as Record<FaultMode, number>;
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, cutResponse: boolean) => {
    const upstreamRequest = httpRequest({ host: origin.hostname, port: Number(origin.port), method: req.method, path: req.url, headers: req.headers }, (reply) => {
      const chunks: Buffer[] = [];
      reply.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        // A black hole that began meanwhile swallows the answer too.
        if (mode === 'blackhole') return;
        const whole = Buffer.concat(chunks);
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        if (cutResponse && whole.length > 1) {
          res.write(whole.subarray(0, whole.length >> 1), () => res.socket?.destroy());
        } else if (cutResponse) {
          res.socket?.destroy();
        } else {
          res.end(whole);
        }
      });
    });
    upstreamRequest.on('error', () => res.socket?.destroy());
    upstreamRequest.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const now = mode;
    requests[now]++;
    if (now === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (now === 'close-mid-body') {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > 1) {
        let received = 0;
        req.on('data', (c: Buffer) => {
          received += c.length;
          if (received >= length / 2) req.socket.destroy();
        });
        return;
      }
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      if (now === 'blackhole' || mode === 'blackhole') return; // read, never answered
      const error = S3_ERRORS[now as keyof typeof S3_ERRORS];
      if (error) {
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${error.message}</Message></Error>`;
        res.writeHead(error.status, { 'content-type': 'application/xml', date: new Date().toUTCString() }).end(req.method === 'HEAD' ? undefined : xml);
        return;
      }
      forward(req, res, Buffer.concat(chunks), now === 'close-mid-body');
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen(0);
  const { port } = server.address() as AddressInfo;
  if (initialMode === 'refuse') await close();

  return {
    target: { ...upstream, endpoint: `http://127.0.0.1:${port}` },
    get mode() {
      return mode;
    },
    requests,
    async setMode(next: FaultMode) {
      const was = mode;
      mode = next;
      if (next === 'refuse' && was !== 'refuse') await close();
      if (next !== 'refuse' && was === 'refuse') await listen(port);
      // Connections held in a black hole stay silent for ever, as a real one's would: a client must time out.
    },
    async stop() {
      mode = 'refuse';
      await close();
    },
  };
}
