package funchost

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// ErrSchedule is wrapped by every error ParseSchedule returns.
var ErrSchedule = errors.New("funchost: invalid schedule")

// Schedule is a parsed six-field NCRONTAB expression, the format of a
// timer trigger's schedule: "{second} {minute} {hour} {day} {month}
// {day-of-week}", evaluated in UTC (Flex Consumption runs timers in UTC).
//
// Each field accepts *, a value, a range a-b, a step */n, a-b/n or a/n (a
// to the field's maximum), and comma-separated lists of those. Months
// accept Jan…Dec and days of the week Sun…Sat (case-insensitive), Sunday
// being 0. As in NCrontab, which the Functions host uses, the day of the
// month and the day of the week must both match (classic cron ORs them
// when both are restricted).
type Schedule struct {
	expr                     string
	sec, min, hour, dom, dow uint64 // bit v set when value v is allowed
	month                    uint64
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}

var cronFields = [6]cronField{
	{name: "second", min: 0, max: 59},
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day-of-week", min: 0, max: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// maxSearchYears bounds Next: a schedule such as "0 0 0 29 2 1" (29
// February falling on a Monday) recurs at most every 28 years, with a
// skipped leap year at the turn of some centuries.
const maxSearchYears = 50

// ParseSchedule parses a six-field NCRONTAB expression. It rejects five-field
// cron, TimeSpan schedules ("00:05:00", App Service plans only), values out
// of range, and schedules that can never fire (31 February). Errors wrap
// ErrSchedule.
func ParseSchedule(expr string) (*Schedule, error) {
	fields := strings.Fields(expr)
	if len(fields) == 1 && strings.Count(fields[0], ":") == 2 {
		return nil, fmt.Errorf("%w %q: TimeSpan schedules run only on App Service plans; use six-field NCRONTAB", ErrSchedule, expr)
	}
	if len(fields) != 6 {
		return nil, fmt.Errorf("%w %q: want 6 fields (second minute hour day month day-of-week), got %d", ErrSchedule, expr, len(fields))
	}
	var sets [6]uint64
	for i, f := range fields {
		set, err := parseCronField(f, cronFields[i])
		if err != nil {
			return nil, fmt.Errorf("%w %q: %s: %v", ErrSchedule, expr, cronFields[i].name, err)
		}
		sets[i] = set
	}
	s := &Schedule{
		expr: strings.Join(fields, " "),
		sec:  sets[0], min: sets[1], hour: sets[2], dom: sets[3], month: sets[4], dow: sets[5],
	}
	if !s.feasible() {
		return nil, fmt.Errorf("%w %q: no month has the days it names", ErrSchedule, expr)
	}
	return s, nil
}

func parseCronField(f string, spec cronField) (uint64, error) {
	var set uint64
	for part := range strings.SplitSeq(f, ",") {
		if part == "" {
			return 0, errors.New("empty list item")
		}
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := parseCronNumber(stepText)
			if err != nil || n < 1 || n > spec.max-spec.min+1 {
				return 0, fmt.Errorf("step %q: want 1 to %d", stepText, spec.max-spec.min+1)
			}
			step = n
		}
		var lo, hi int
		switch {
		case rng == "*":
			lo, hi = spec.min, spec.max
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = parseCronValue(a, spec); err != nil {
				return 0, err
			}
			if hi, err = parseCronValue(b, spec); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			v, err := parseCronValue(rng, spec)
			if err != nil {
				return 0, err
			}
			lo, hi = v, v
			if hasStep {
				hi = spec.max
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func parseCronValue(s string, spec cronField) (int, error) {
	if n, err := parseCronNumber(s); err == nil {
		if n < spec.min || n > spec.max {
			return 0, fmt.Errorf("%d out of range %d-%d", n, spec.min, spec.max)
		}
		return n, nil
	}
	for i, name := range spec.names {
		if strings.EqualFold(s, name) {
			return spec.min + i, nil
		}
	}
	return 0, fmt.Errorf("bad value %q", s)
}

// parseCronNumber accepts only unsigned decimal digits (no sign, no spaces).
func parseCronNumber(s string) (int, error) {
	if s == "" || len(s) > 4 {
		return 0, errors.New("not a number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
	}
	return strconv.Atoi(s)
}

var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func (s *Schedule) feasible() bool {
	for m := 1; m <= 12; m++ {
		if s.month&(1<<uint(m)) == 0 {
			continue
		}
		if s.dom&(uint64(1)<<uint(daysIn[m]+1)-1) != 0 {
			return true
		}
	}
	return false
}

// String returns the expression with its fields separated by single spaces.
func (s *Schedule) String() string { return s.expr }

// Matches reports whether t (in UTC, to the second) is an occurrence.
func (s *Schedule) Matches(t time.Time) bool {
	t = t.UTC()
	return has(s.sec, t.Second()) && has(s.min, t.Minute()) && has(s.hour, t.Hour()) &&
		has(s.dom, t.Day()) && has(s.month, int(t.Month())) && has(s.dow, int(t.Weekday()))
}

func has(set uint64, v int) bool { return set&(1<<uint(v)) != 0 }

// Next returns the first occurrence strictly after t, in UTC with whole
// seconds, or the zero time when there is none within 50 years.
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second).Add(time.Second)
	limit := t.Year() + maxSearchYears
	for t.Year() <= limit {
		y, mo, d := t.Date()
		h, mi, _ := t.Clock()
		switch {
		case !has(s.month, int(mo)):
			t = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
		case !has(s.dom, d) || !has(s.dow, int(t.Weekday())):
			t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
		case !has(s.hour, h):
			t = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
		case !has(s.min, mi):
			t = time.Date(y, mo, d, h, mi+1, 0, 0, time.UTC)
		case !has(s.sec, t.Second()):
			t = t.Add(time.Duration(nextSet(s.sec, t.Second())-t.Second()) * time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

// nextSet returns the smallest set value above v, or 60 (the next minute)
// when there is none.
func nextSet(set uint64, v int) int {
	rest := set &^ (uint64(1)<<uint(v+1) - 1)
	if rest == 0 {
		return 60
	}
	return bits.TrailingZeros64(rest)
}

// period returns the gap between the next two occurrences after t, the
// host's measure of whether a schedule recurs at most once a minute.
func (s *Schedule) period(t time.Time) time.Duration {
	a := s.Next(t)
	if a.IsZero() {
		return 0
	}
	b := s.Next(a)
	if b.IsZero() {
		return 0
	}
	return b.Sub(a)
}
