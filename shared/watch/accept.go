package watch

import (
	"time"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// unaccepted applies the accepted risks (config TENANTWATCH_ACCEPT) at
// now: it returns the findings no unexpired entry accepts, in order, and
// the decision for the report (nil when no accept file is configured).
// Accepted findings are neither recorded nor carded, so that once their
// entry expires they are new again and get their card.
func (a *App) unaccepted(fs []tenant.Finding, now time.Time) ([]tenant.Finding, *accept.Result) {
	if a.o.Config.Accept == nil {
		return fs, nil
	}
	r := accept.Apply(a.o.Config.Accept, fs, now)
	if r.Accepted() == 0 {
		return fs, r
	}
	keep := make([]tenant.Finding, 0, len(fs))
	for i, f := range fs {
		if r.MarkOf(i) == nil {
			keep = append(keep, f)
		}
	}
	a.log.Info("accepted findings not alerted", "count", len(fs)-len(keep))
	return keep, r
}
