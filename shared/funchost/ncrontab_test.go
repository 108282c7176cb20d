package funchost_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenantwatch/tenantwatch/shared/funchost"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, from string
		want             []string // successive occurrences after from
	}{
		{"PollDirectory every 2 minutes", "0 */2 * * * *", "2026-03-01T10:00:00Z",
			[]string{"2026-03-01T10:02:00Z", "2026-03-01T10:04:00Z", "2026-03-01T10:06:00Z"}},
		{"every 2 minutes from an odd minute", "0 */2 * * * *", "2026-03-01T10:01:30Z",
			[]string{"2026-03-01T10:02:00Z", "2026-03-01T10:04:00Z"}},
		{"PollSignIns every 5 minutes", "0 */5 * * * *", "2026-03-01T10:03:59Z",
			[]string{"2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z"}},
		{"RenewSubscriptions every 6 hours", "0 0 */6 * * *", "2026-03-01T05:59:59Z",
			[]string{"2026-03-01T06:00:00Z", "2026-03-01T12:00:00Z", "2026-03-01T18:00:00Z", "2026-03-02T00:00:00Z"}},
		{"DailySweep at 02:30", "0 30 2 * * *", "2026-03-01T02:30:00Z",
			[]string{"2026-03-02T02:30:00Z", "2026-03-03T02:30:00Z"}},
		{"DailySweep across a year end", "0 30 2 * * *", "2026-12-31T03:00:00Z",
			[]string{"2027-01-01T02:30:00Z"}},
		{"DeliverAlerts every minute", "0 */1 * * * *", "2026-03-01T10:00:00.5Z",
			[]string{"2026-03-01T10:01:00Z", "2026-03-01T10:02:00Z"}},
		{"every 5 seconds", "*/5 * * * * *", "2026-03-01T10:00:58Z",
			[]string{"2026-03-01T10:01:00Z", "2026-03-01T10:01:05Z"}},
		{"list and range with step", "0 0 9-17/4,20 * * *", "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T09:00:00Z", "2026-03-01T13:00:00Z", "2026-03-01T17:00:00Z", "2026-03-01T20:00:00Z", "2026-03-02T09:00:00Z"}},
		{"value with step runs to the maximum", "0 50/5 * * * *", "2026-03-01T10:00:00Z",
			[]string{"2026-03-01T10:50:00Z", "2026-03-01T10:55:00Z", "2026-03-01T11:50:00Z"}},
		{"weekdays by name", "0 0 8 * * Mon-Fri", "2026-03-06T09:00:00Z", // a Friday
			[]string{"2026-03-09T08:00:00Z", "2026-03-10T08:00:00Z"}},
		{"Sunday is 0", "0 0 0 * * 0", "2026-03-02T00:00:00Z",
			[]string{"2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z"}},
		{"month names", "0 0 0 1 jan,JUL *", "2026-03-01T00:00:00Z",
			[]string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"day and weekday must both match", "0 0 0 13 * Fri", "2026-01-01T00:00:00Z",
			[]string{"2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z", "2026-11-13T00:00:00Z"}},
		{"29 February", "0 0 12 29 2 *", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"}},
		{"31st skips short months", "0 0 0 31 * *", "2026-03-31T00:00:00Z",
			[]string{"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
		{"extra white space", "  0   0  0  *  *  * ", "2026-03-01T12:00:00Z",
			[]string{"2026-03-02T00:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := funchost.ParseSchedule(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			at := utc(tc.from)
			if strings.Contains(tc.from, ".") {
				at, _ = time.Parse(time.RFC3339Nano, tc.from)
			}
			for range tc.want {
				at = s.Next(at)
				got = append(got, at.Format(time.RFC3339))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Next from %s (-want +got):\n%s", tc.from, diff)
			}
		})
	}
}

func TestScheduleNextIsUTC(t *testing.T) {
	t.Parallel()
	s, err := funchost.ParseSchedule("0 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	paris := time.FixedZone("CET", 3600)
	got := s.Next(time.Date(2026, 3, 1, 3, 0, 0, 0, paris)) // 02:00 UTC
	if want := utc("2026-03-01T02:30:00Z"); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Next = %v, want %v in UTC", got, want)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ expr, want string }{
		{"*/5 * * * *", "want 6 fields"},
		{"0 0 * * * * *", "want 6 fields"},
		{"", "want 6 fields"},
		{"00:05:00", "TimeSpan"},
		{"60 * * * * *", "second: 60 out of range"},
		{"0 60 * * * *", "minute: 60 out of range"},
		{"0 0 24 * * *", "hour: 24 out of range"},
		{"0 0 0 0 * *", "day: 0 out of range"},
		{"0 0 0 * 13 *", "month: 13 out of range"},
		{"0 0 0 * * 7", "day-of-week: 7 out of range"},
		{"*/0 * * * * *", "step"},
		{"0 5-1 * * * *", "runs backwards"},
		{"0 1,,2 * * * *", "empty list item"},
		{"0 -1 * * * *", "bad value"},
		{"0 x * * * *", "bad value"},
		{"0 0 0 * Foo *", "bad value"},
		{"0 0 0 31 2 *", "no month has the days"},
		{"0 0 0 30,31 2,4 *", ""}, // 30 April exists
	}
	for _, tc := range tests {
		_, err := funchost.ParseSchedule(tc.expr)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ParseSchedule(%q) = %v, want success", tc.expr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, funchost.ErrSchedule) {
			t.Errorf("ParseSchedule(%q) = %v, want an ErrSchedule containing %q", tc.expr, err, tc.want)
		}
	}
}

// TestScheduleNextAgainstBruteForce checks Next against a minute-by-minute
// scan for schedules that fire at second 0.
func TestScheduleNextAgainstBruteForce(t *testing.T) {
	t.Parallel()
	exprs := []string{"0 */7 * * * *", "0 15,45 1-3 * * *", "0 0 */5 * * sat,sun", "0 59 23 28-31 * *", "0 0 12 1-7 * mon"}
	from := utc("2026-01-30T22:13:00Z")
	for _, expr := range exprs {
		s, err := funchost.ParseSchedule(expr)
		if err != nil {
			t.Fatal(err)
		}
		at := from
		for range 20 {
			want := at.Add(time.Minute)
			for !s.Matches(want) {
				want = want.Add(time.Minute)
			}
			got := s.Next(at)
			if !got.Equal(want) {
				t.Fatalf("%s: Next(%s) = %s, want %s", expr, at.Format(time.RFC3339), got.Format(time.RFC3339), want.Format(time.RFC3339))
			}
			at = got
		}
	}
}

// FuzzParse: ParseSchedule never panics, and a parsed schedule's next
// occurrence is a whole second after the start that the schedule matches;
// parsing String() gives the same schedule.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0 */2 * * * *", "0 */5 * * * *", "0 0 */6 * * *", "0 30 2 * * *", "0 */1 * * * *",
		"*/5 * * * * *", "0 0 9-17/4,20 * * Mon-Fri", "0 0 0 29 2 *", "0 0 0 13 * fri", "0 0 0 1 jan,jul *",
		"00:05:00", "* * * * *", "0 0 0 31 2 *", "1-2/3,4 5/6 7 8-9 10 0-6",
	} {
		f.Add(s, int64(1772359200)) // 2026-03-01T10:00:00Z
	}
	f.Fuzz(func(t *testing.T, expr string, unix int64) {
		s, err := funchost.ParseSchedule(expr)
		if err != nil {
			return
		}
		from := time.Unix(unix%(1<<33), 0).UTC() // years 1697..2242
		next := s.Next(from)
		if next.IsZero() {
			t.Fatalf("%q: no occurrence after %s", expr, from)
		}
		if !next.After(from) || next.Nanosecond() != 0 || !s.Matches(next) || next.Location() != time.UTC {
			t.Fatalf("%q: Next(%s) = %s", expr, from, next)
		}
		again, err := funchost.ParseSchedule(s.String())
		if err != nil {
			t.Fatalf("%q: String() %q does not parse: %v", expr, s.String(), err)
		}
		if got := again.Next(from); !got.Equal(next) {
			t.Fatalf("%q: reparsed Next = %s, want %s", expr, got, next)
		}
	})
}
