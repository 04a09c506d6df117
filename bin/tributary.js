#!/usr/bin/env node
// The package's executable: runs the compiled CLI that `npm ci` builds (the `prepare` script).
import '../dist/cli/tributary.js';
