/**
 * POSIX cron as GitHub's `on.schedule` reads it (UTC, five fields, `*`, lists, ranges, steps,
 * JAN-DEC and SUN-SAT names; when both day-of-month and day-of-week are restricted, either one
 * matching is enough). Used to validate the workflows' schedules and to count their runs.
 */
export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  dayRestricted: boolean;
  weekdayRestricted: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of names[0]. */
  nameBase?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 6, names: WEEKDAYS, nameBase: 0 },
];

/** Parses a cron expression or throws an Error naming the bad field. */
export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron "${expression}": expected 5 fields, got ${parts.length}`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!, expression));
  return {
    minutes: sets[0]!,
    hours: sets[1]!,
    days: sets[2]!,
    months: sets[3]!,
    weekdays: sets[4]!,
    dayRestricted: parts[2] !== '*',
    weekdayRestricted: parts[4] !== '*',
  };
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const fail = (why: string): never => {
    throw new Error(`cron "${expression}": ${spec.name} "${text}": ${why}`);
  };
  const value = (token: string): number => {
    const upper = token.toUpperCase();
    if (spec.names?.includes(upper)) return spec.names.indexOf(upper) + spec.nameBase!;
    if (!/^\d+$/.test(token)) return fail(`"${token}" is not a number`);
    const n = Number(token);
    if (n < spec.min || n > spec.max) return fail(`${n} is outside ${spec.min}-${spec.max}`);
    return n;
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '') fail('malformed');
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        fail(`step "${stepText}" must be a positive number`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
    } else if (range!.includes('-')) {
      const [a, b, more] = range!.split('-');
      if (more !== undefined || !a || !b) fail('malformed range');
      from = value(a!);
      to = value(b!);
      if (from > to) fail(`range ${from}-${to} runs backwards`);
    } else {
      from = value(range!);
      to = stepText !== undefined ? spec.max : from;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

export function cronMatches(schedule: CronSchedule, at: Date): boolean {
  if (!schedule.minutes.has(at.getUTCMinutes())) return false;
  if (!schedule.hours.has(at.getUTCHours())) return false;
  if (!schedule.months.has(at.getUTCMonth() + 1)) return false;
  const day = schedule.days.has(at.getUTCDate());
  const weekday = schedule.weekdays.has(at.getUTCDay());
  if (schedule.dayRestricted && schedule.weekdayRestricted) return day || weekday;
  return day && weekday;
}

/** Every run time in [from, to): day by day, then the schedule's hours and minutes of that day. */
export function cronRuns(schedule: CronSchedule, from: Date, to: Date): Date[] {
  const runs: Date[] = [];
  const hours = [...schedule.hours].sort((a, b) => a - b);
  const minutes = [...schedule.minutes].sort((a, b) => a - b);
  const firstDay = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let day = firstDay; day < to.getTime(); day += 86_400_000) {
    if (!cronMatches(schedule, new Date(day + hours[0]! * 3_600_000 + minutes[0]! * 60_000))) continue;
    for (const h of hours) {
      for (const m of minutes) {
        const t = day + h * 3_600_000 + m * 60_000;
        if (t >= from.getTime() && t < to.getTime()) runs.push(new Date(t));
      }
    }
  }
  return runs;
}

const YEAR_FROM = new Date(Date.UTC(2027, 0, 1));
const YEAR_TO = new Date(Date.UTC(2028, 0, 1));

/** Average runs per month over a (non-leap) year. */
export function runsPerMonth(expression: string): number {
  return cronRuns(parseCron(expression), YEAR_FROM, YEAR_TO).length / 12;
}

/** The shortest gap between two runs over a year, in minutes (GitHub runs nothing more often than 5). */
export function shortestIntervalMinutes(expression: string): number {
  const runs = cronRuns(parseCron(expression), YEAR_FROM, YEAR_TO);
  let shortest = Infinity;
  for (let i = 1; i < runs.length; i++) {
    shortest = Math.min(shortest, (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 60_000);
  }
  return shortest;
}
