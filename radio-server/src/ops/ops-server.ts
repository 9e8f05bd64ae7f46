import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../shared/user-error.js';
import type { Health } from './health.js';
import type { Logger } from './logger.js';
import type { StationMetrics } from './metrics.js';

/** The default of `METRICS_PORT` (also the OpenTelemetry Prometheus exporter's). */
export const DEFAULT_METRICS_PORT = 9464;

export interface OpsServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Loopback by default: the metrics say nothing secret, but no one outside this host needs them. */
  host?: string;
  metrics: StationMetrics;
  health: Health;
  log: Logger;
}

/** The running server: where it listens, and how to stop it. */
export interface OpsServer {
  /** e.g. `http://127.0.0.1:9464` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operator's HTTP endpoint: `/metrics` (Prometheus text) and `/healthz` (200 while capture, encoding,
 * uploads and the clock are healthy, 503 naming the failing parts otherwise; a JSON body either way).
 * Rejects with a UserError when the port is taken.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { metrics, health, log } = options;
  const host = options.host ?? '127.0.0.1';

  async function respond(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' && path !== '/healthz') return send(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    if (path === '/metrics') return send(response, 200, metrics.contentType, await metrics.text());
    const report = health.report();
    const body = { status: report.ok ? 'ok' : 'failing', ...(!report.ok && { failing: report.failing }), parts: report.parts };
    return send(response, report.ok ? 200 : 503, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
  }

  const server = createServer((request, response) => {
    respond(request, response).catch((error: unknown) => {
      log.error({ err: error, url: request.url }, 'the metrics endpoint failed to answer');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE'
        ? new UserError(`METRICS_PORT ${options.port} on ${host} is already in use: stop the program using it or set METRICS_PORT to a free port`)
        : error);
    });
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, `metrics and health on http://${host}:${port}/metrics and /healthz`);
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections(); // a scraper's keep-alive connection would hold close() open
    }),
  };
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
