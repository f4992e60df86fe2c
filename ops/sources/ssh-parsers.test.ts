/**
 * The pure parsers of ssh-parsers.ts against recorded output: journalctl -o json of the broker VM's
 * units (fixtures/journal/), df and /proc/meminfo of a Linux host (fixtures/host/), and the
 * shapes seen in the field (mount points with spaces, messages stored as bytes or too large).
 */
import { readFileSync } from 'node:fs';
import { DF_COMMAND, journalCommand, parseDf, parseJournalJson, parseMeminfo } from './ssh-parsers.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseDf', () => {
  it('reads df -B1 --output=target,size,used,avail, mount points with spaces included', () => {
    const text = [
      'Mounted on            1B-blocks        Used       Avail',
      '/                   31024283648 12226416640 18781089792',
      '/boot/efi             109395456     6346752   103048704',
      '/mnt/data disk      1073741824           0  1073741824',
      'df: /run/user/1000/doc: Operation not permitted',
      '',
    ].join('\n');
    expect(parseDf(text)).toEqual([
      { mount: '/', sizeBytes: 31024283648, usedBytes: 12226416640, availableBytes: 18781089792 },
      { mount: '/boot/efi', sizeBytes: 109395456, usedBytes: 6346752, availableBytes: 103048704 },
      { mount: '/mnt/data disk', sizeBytes: 1073741824, usedBytes: 0, availableBytes: 1073741824 },
    ]);
  });

  it('reads a recorded df of a Linux host', () => {
    expect(parseDf(fixture('host/df.txt'))).toEqual([
      { mount: '/', sizeBytes: 270553174016, usedBytes: 28209328128, availableBytes: 80734965760 },
    ]);
  });

  it('finds nothing in what is not df output', () => {
    expect(parseDf('')).toEqual([]);
    expect(parseDf('df: unrecognized option --output\n')).toEqual([]);
  });

  it('asks df for bytes of real file systems only', () => {
    expect(DF_COMMAND).toMatch(/df -B1 --output=target,size,used,avail/);
    expect(DF_COMMAND).toMatch(/-x tmpfs -x devtmpfs -x squashfs/);
  });
});

describe('parseMeminfo', () => {
  it('reads totals in bytes', () => {
    const text =
      'MemTotal:         944588 kB\nMemFree:           80152 kB\nMemAvailable:     412776 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\nHugePages_Total:       0\n';
    expect(parseMeminfo(text)).toEqual({
      totalBytes: 944588 * 1024,
      availableBytes: 412776 * 1024,
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    });
  });

  it('reads a recorded /proc/meminfo (lines without a unit included)', () => {
    expect(parseMeminfo(fixture('host/meminfo.txt'))).toEqual({
      totalBytes: 24683652 * 1024,
      availableBytes: 23414732 * 1024,
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    });
  });

  it('says which line is missing', () => {
    expect(() => parseMeminfo('MemTotal: 1 kB\n')).toThrow(/no MemAvailable line/);
  });
});

describe('journalCommand', () => {
  const since = new Date('2026-11-25T12:00:00Z');

  it('reads one unit, warning and worse, as JSON lines, newest first, bounded', () => {
    expect(journalCommand('mosquitto', since, 5000)).toBe(
      "LC_ALL=C journalctl -u 'mosquitto' --since '@1795608000' -p warning -o json --output-fields=MESSAGE,PRIORITY --no-pager -r -n 5000",
    );
  });

  it('finds JSON log lines with a warn/error level among info entries (a service logging to stdout)', () => {
    expect(journalCommand('mqtt-bridge', since, 10, 'json-level')).toContain(
      `-p notice..info --grep '"level": ?"(warn|warning|error|fatal|critical)"'`,
    );
  });

  it('refuses a unit name that could escape the shell quoting', () => {
    expect(() => journalCommand("x'; rm -rf / #", since, 1)).toThrow(/not a systemd unit name/);
  });
});

describe('parseJournalJson (recorded journalctl -o json)', () => {
  it('reads priority, time and message, also a message journald stored as bytes', () => {
    const entries = parseJournalJson(fixture('journal/mosquitto.priority.jsonl'), 'mosquitto');
    expect(entries).toHaveLength(7);
    expect(entries[0]).toEqual({
      unit: 'mosquitto',
      priority: 4,
      message: "mosquitto.service: Failed with result 'exit-code'.",
      time: new Date('2026-11-26T11:00:00.123Z'),
    });
    expect(entries[4]!.message).toMatch(/^Warning: Client \uFFFD\uFFFD-42 sent a CONNECT/);
    expect(entries[5]).toMatchObject({
      priority: 2,
      message: 'Process 812 (mosquitto) of user 108 dumped core.',
    });
  });

  it("takes a JSON log line's level as its priority and drops its timestamp from the message", () => {
    const entries = parseJournalJson(fixture('journal/mqtt-bridge.json-level.jsonl'), 'mqtt-bridge');
    expect(entries.map((e) => e.priority)).toEqual([4, 3, 3, 3, 3, 3, 3, 3, 4]);
    expect(entries[2]!.message).toBe(
      'journal_write_failed {"error":"ENOSPC: no space left on device, write","topic":"t/acme/dev-1/telemetry","policy":"message not acknowledged; the broker redelivers it after the reconnect the bridge forces"}',
    );
  });

  it('skips what is not a JSON line and keeps a message too large to print', () => {
    const text =
      '-- No entries --\n{"PRIORITY":"3","MESSAGE":null,"__REALTIME_TIMESTAMP":"1795608000000000"}\n{"trunc';
    expect(parseJournalJson(text, 'u')).toEqual([
      {
        unit: 'u',
        priority: 3,
        message: '(message too large to show)',
        time: new Date('2026-11-25T12:00:00Z'),
      },
    ]);
  });
});
