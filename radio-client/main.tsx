// The Deno entry (Deno Deploy, or `deno run --allow-net --allow-env --allow-read radio-client/main.tsx`):
// wires the app to Deno.serve on PORT. Deno runs the TypeScript sources; the player bundle comes from
// dist/assets, so `npm run build` must have run.
import { prepareApp } from './src/app/start.ts';
import { StartupError } from './src/app/startup-error.ts';

try {
  const { app, config } = await prepareApp(Deno.env.toObject(), new URL('./dist/assets/', import.meta.url));
  Deno.serve(
    {
      port: config.port,
      ...(config.host ? { hostname: config.host } : {}),
      onListen: ({ port }) => console.log(`radio-client listening on http://${config.host ?? 'localhost'}:${port}/ (station "${config.stationName}")`),
    },
    app.fetch,
  );
} catch (error) {
  if (!(error instanceof StartupError)) throw error;
  console.error(`radio-client: ${error.message}`);
  Deno.exit(1);
}
