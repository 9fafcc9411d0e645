#!/usr/bin/env node
// The `toolgate` command. A checked-in shim, so package managers can link the bin before the
// package is built (in this workspace, `pnpm build` makes dist/).
import '../dist/cli.js';
