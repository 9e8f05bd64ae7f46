#!/usr/bin/env node
// The `radio-client` command: the compiled Node entry (npm run build). A file that exists before the
// build, so `npm ci` links the command even on a fresh checkout.
import '../dist/server/node-main.js';
