#!/usr/bin/env node
// The `radio-server` command: the compiled CLI (npm run build). A file that exists before the build, so
// `npm ci` links the command even on a fresh checkout.
import '../dist/cli/main.js';
