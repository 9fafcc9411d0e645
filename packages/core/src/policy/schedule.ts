import { HOURS_PATTERN, POLICY_DAYS, type PolicySchedule } from './schema';

/** A schedule compiled once: a weekday bit mask and minute bounds. */
export interface CompiledSchedule {
  readonly tz: string;
  /** Bit d set = weekday d allowed (0 = Monday … 6 = Sunday). */
  readonly dayMask: number;
  /** Minutes since local midnight; start inclusive, end exclusive; start > end wraps midnight. */
  readonly start: number;
  readonly end: number;
  readonly outside: boolean;
  /** What the check reports as `expected`, e.g. `mon-fri 09:00-17:00 Europe/Berlin`. */
  readonly label: string;
}

const DAY_LABELS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const WEEK = 7 * 24 * 60;

/** Compiles a (schema-validated) schedule. `tz` defaults to UTC. */
export function compileSchedule(schedule: PolicySchedule): CompiledSchedule {
  const tz = schedule.tz ?? 'UTC';
  let dayMask = 0x7f;
  if (schedule.days) {
    dayMask = 0;
    for (const d of schedule.days) dayMask |= 1 << POLICY_DAYS.indexOf(d);
  }
  let start = 0;
  let end = 24 * 60;
  if (schedule.hours) {
    const m = HOURS_PATTERN.exec(schedule.hours);
    if (m) {
      start = Number(m[1]) * 60 + Number(m[2]);
      end = m[5] !== undefined ? 24 * 60 : Number(m[3]) * 60 + Number(m[4]);
    }
  }
  const label = [schedule.days ? schedule.days.join(',') : 'every day', schedule.hours ?? 'all day', tz].join(' ');
  return { tz, dayMask, start, end, outside: schedule.outside === true, label };
}

/** True when `minuteOfWeek` (0 = Monday 00:00 local) falls inside the window. */
export function withinSchedule(s: CompiledSchedule, minuteOfWeek: number): boolean {
  const day = Math.floor(minuteOfWeek / 1440);
  if ((s.dayMask & (1 << day)) === 0) return false;
  const m = minuteOfWeek - day * 1440;
  return s.start < s.end ? m >= s.start && m < s.end : m >= s.start || m < s.end;
}

/** `Tue 18:30` for a minute of the week. */
export function formatMinuteOfWeek(minuteOfWeek: number): string {
  const day = Math.floor(minuteOfWeek / 1440);
  const m = minuteOfWeek - day * 1440;
  const hh = String(Math.floor(m / 60)).padStart(2, '0');
  const mm = String(m % 60).padStart(2, '0');
  return `${DAY_LABELS[day] ?? '?'} ${hh}:${mm}`;
}

interface ZoneClock {
  fmt: Intl.DateTimeFormat;
  /** 15-minute UTC bucket the cached value is for. */
  bucket: number;
  /** Local minute of the week at the start of that bucket. */
  startMinute: number;
}

const QUARTER_HOUR = 15 * 60_000;
const clocks = new Map<string, ZoneClock>();
const WEEKDAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/**
 * Local minute of the week (0 = Monday 00:00) at `nowMs` in time zone `tz`. The formatter is
 * cached per zone and its answer per 15-minute UTC bucket (every zone offset in use today is a
 * multiple of 15 minutes, so a bucket never straddles a local minute boundary or a DST switch).
 */
export function localMinuteOfWeek(tz: string, nowMs: number): number {
  let clock = clocks.get(tz);
  if (!clock) {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    clock = { fmt, bucket: Number.NaN, startMinute: 0 };
    if (clocks.size > 512) clocks.clear();
    clocks.set(tz, clock);
  }
  const bucket = Math.floor(nowMs / QUARTER_HOUR);
  if (clock.bucket !== bucket) {
    let weekday = 0;
    let hour = 0;
    let minute = 0;
    for (const part of clock.fmt.formatToParts(bucket * QUARTER_HOUR)) {
      if (part.type === 'weekday') weekday = WEEKDAY_INDEX[part.value] ?? 0;
      else if (part.type === 'hour') hour = Number(part.value) % 24;
      else if (part.type === 'minute') minute = Number(part.value);
    }
    clock.bucket = bucket;
    clock.startMinute = weekday * 1440 + hour * 60 + minute;
  }
  return (clock.startMinute + Math.floor((nowMs - bucket * QUARTER_HOUR) / 60_000)) % WEEK;
}
