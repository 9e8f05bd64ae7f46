// The player's figures for `npm run bench` (scripts/bench/client.bench.mjs runs this with vite-node
// and prints them): glass-to-ear latency over arrival times at 2 s and 10 s segments, manifest
// requests per listener-hour, and the player's CPU in Chromium over a minute of playback. Prints one
// JSON line. BENCH_PLAYER_SOAK_MINUTES (default 10; 60 for the hour) sets how long one listener
// plays in the soak that shows the latency held: its per-minute medians, from the markers heard.
import { probeLatency, type ListenerSession } from './latency-probe.ts';

const MINUTE = 60;
const SOAK_MINUTES = Number(process.env.BENCH_PLAYER_SOAK_MINUTES ?? 10);

function spread(sessions: ListenerSession[]) {
  const latencies = sessions.map((s) => s.latency).filter((l): l is number => l !== undefined).sort((a, b) => a - b);
  return { arrivals: latencies.length, median: latencies[Math.floor(latencies.length / 2)], min: latencies[0], max: latencies.at(-1) };
}

const figures: Record<string, unknown> = {};
for (const [segmentSeconds, arrivals] of [[2, 8], [10, 5]] as const) {
  const phases = [...Array.from({ length: arrivals }, (_, i) => i / arrivals), 0.5];
  const listenSeconds = [...Array(arrivals).fill(3), MINUTE];
  const { sessions, idleCpuSeconds } = await probeLatency({ kind: 'chromium', segmentSeconds, phases, listenSeconds, idleSeconds: segmentSeconds === 2 ? 20 : undefined });
  const long = sessions.at(-1)!;
  figures[`${segmentSeconds}s`] = {
    latency: spread(sessions),
    manifestRequestsPerHour: Math.round((long.manifestRequests / long.seconds) * 3600),
    steadyManifestRequestsPerHour: long.steady && Math.round((long.steady.manifestRequests / long.steady.seconds) * 3600),
    browserCpu: long.cpuSeconds / long.seconds,
    idleCpu: segmentSeconds === 2 ? idleCpuSeconds / 20 : undefined,
  };
}
{
  const { sessions, pageErrors } = await probeLatency({ kind: 'chromium', segmentSeconds: 2, phases: [0.5], listenSeconds: SOAK_MINUTES * MINUTE });
  const [soak] = sessions;
  const byMinute = new Map<number, number[]>();
  for (const m of soak!.markers) {
    const minute = Math.floor((m.heardAt - soak!.pressedAt) / 60_000);
    byMinute.set(minute, [...(byMinute.get(minute) ?? []), m.latency]);
  }
  const medians = [...byMinute.values()].map((l) => l.sort((a, b) => a - b)[Math.floor(l.length / 2)]!);
  figures.soak = {
    minutes: SOAK_MINUTES, minutesHeard: medians.length, first: medians[0], last: medians.at(-1), min: Math.min(...medians), max: Math.max(...medians),
    markers: soak!.markers.length, rates: soak!.rates, pageErrors: pageErrors.length,
  };
}
console.log(`PLAYER-BENCH ${JSON.stringify(figures)}`);
