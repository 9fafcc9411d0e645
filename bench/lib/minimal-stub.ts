import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * The smallest protocol v1 reviewer that still reads the request body: every POST gets the same
 * `decided / allow` answer. Counts the TCP connections it accepted, so a run can show how many
 * sockets each client opened. Run as a child process (see `startMinimalStub`) so the client being
 * measured has the main thread to itself.
 */
function serve(): void {
  const answer = Buffer.from(JSON.stringify({ id: 'rv_bench', status: 'decided', verdict: 'allow', reason: 'ok', decidedBy: 'policy' }));
  let connections = 0;
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => {
    connections += 1;
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on('message', (m: { op: string }) => {
    if (m.op === 'connections') process.send?.({ connections });
    if (m.op === 'reset') {
      connections = 0;
      process.send?.({ connections });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

export interface MinimalStub {
  url: string;
  connections(): Promise<number>;
  resetConnections(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the minimal stub in a child process on 127.0.0.1:0. */
export async function startMinimalStub(): Promise<MinimalStub> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<Record<string, number>>((r) => child.once('message', (m) => r(m as Record<string, number>)));
  const { port } = await next();
  const ask = async (op: string) => {
    const p = next();
    child.send({ op });
    return (await p).connections!;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => ask('connections'),
    resetConnections: async () => {
      await ask('reset');
    },
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

if (process.argv.includes('--serve')) serve();
