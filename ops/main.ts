/** Entry point of `npm run ops` (see cli.ts). */
import { runCli } from './cli.js';

runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
}).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`ops: ${error.message}\n`);
    process.exit(1);
  },
);
