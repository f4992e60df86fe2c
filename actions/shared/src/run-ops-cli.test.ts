import { runOpsCli, tailLines } from './run-ops-cli.js';

describe('runOpsCli', () => {
  it('captures stdout and passes stderr on line by line, even split across writes', async () => {
    const progress: string[] = [];
    const run = await runOpsCli(
      async (argv, io) => {
        io.err('ops: daily.a ..');
        io.err('.\nops: daily.a: ok\nops: tail');
        io.out(JSON.stringify({ argv }));
        return 1;
      },
      ['daily', '--env', 'prod'],
      (line) => progress.push(line),
    );
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toEqual({ argv: ['daily', '--env', 'prod'] });
    expect(progress).toEqual(['ops: daily.a ...', 'ops: daily.a: ok', 'ops: tail']);
  });

  it('turns a throw into exit code 1 with the message on stderr', async () => {
    const run = await runOpsCli(
      async () => {
        throw new Error('boom');
      },
      [],
      () => undefined,
    );
    expect(run).toEqual({ code: 1, out: '', err: 'ops: boom\n' });
  });

  it('hands the mask to the CLI', async () => {
    const masked: string[] = [];
    await runOpsCli(
      async (_argv, io) => {
        io.mask?.('s3cret-from-config');
        return 0;
      },
      [],
      () => undefined,
      (value) => masked.push(value),
    );
    expect(masked).toEqual(['s3cret-from-config']);
  });
});

describe('tailLines', () => {
  it('keeps the last lines', () => {
    expect(tailLines('a\nb\nc\nd\n', 2)).toBe('c\nd');
  });
});
