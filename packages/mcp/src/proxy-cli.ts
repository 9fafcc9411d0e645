// The `toolgate-mcp` command (bin/toolgate-mcp.js loads the build of this file): an MCP proxy over stdio that gates the upstream server's high-stakes tools.
import { runProxyCli } from './proxy/run-proxy-cli';

void runProxyCli(process.argv.slice(2));
