#!/usr/bin/env node
// The Node entry (the workspace's `radio-client` bin): wires the app to @hono/node-server on PORT.
import { serve } from '@hono/node-server';
import { prepareApp } from '../app/start.ts';
import { StartupError } from '../app/startup-error.ts';

try {
  const { app, config } = await prepareApp(process.env, new URL('../assets/', import.meta.url));
  const server = serve({ fetch: app.fetch, port: config.port, ...(config.host ? { hostname: config.host } : {}) }, (info) => {
    console.log(`radio-client listening on http://${config.host ?? 'localhost'}:${info.port}/ (station "${config.stationName}")`);
  });
  const close = () => server.close(() => process.exit(0));
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
} catch (error) {
  if (!(error instanceof StartupError)) throw error;
  console.error(`radio-client: ${error.message}`);
  process.exitCode = 1;
}
