import { defineConfig } from 'vitest/config';

// One suite for the whole repository. Files named *.it.test.ts start real servers, browsers or
// daemons; `npx vitest run --exclude '**/*.it.test.ts'` runs just the fast unit tests.
export default defineConfig({
  test: {
    include: ['protocol/src/**/*.test.ts', 'radio-server/src/**/*.test.ts', 'radio-client/src/**/*.test.ts', 'radio-client/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores here: more workers only make the real-time tests fight for the CPU.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    // The SDK's once-per-process notice that its 2027 releases need Node 22 (see cli/main.ts).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
