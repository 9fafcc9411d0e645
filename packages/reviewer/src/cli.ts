import { runCli } from './cli/run-cli';

// The `toolgate` bin: parse argv, run, exit with the command's code. SIGINT/SIGTERM stop `serve`.
const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  stopSignal,
}).then(
  (code) => {
    // Exit now: an idle keep-alive socket (undici) must not hold a finished command open.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`toolgate: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
