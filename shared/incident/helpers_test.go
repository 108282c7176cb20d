package incident_test

import (
	"strconv"
	"strings"
	"time"
)

// parseDuration accepts time.ParseDuration's syntax and "<n>d".
func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(s)
}
