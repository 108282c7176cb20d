package watch_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

// TestUsersRoundWhenSKUsFail: a users round that cannot read the SKUs
// because Graph fails (not because it refuses: that is a missing
// permission, and the licence rules are skipped) fails and keeps its
// cursor, as the scan fails on the same error. The licence change it saw
// is then judged by the next round and alerted at once, instead of being
// passed over with the licence rules skipped until the daily sweep.
func TestUsersRoundWhenSKUsFail(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	e := newEnv(t, envOptions{Graph: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() && strings.HasSuffix(r.URL.Path, "/subscribedSkus") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":{"code":"InternalServerError","message":"the test fails this read"}}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	ctx := t.Context()
	e.install()
	e.clk.Advance(2 * time.Hour) // past the hour a process keeps the SKUs
	before := e.cursor(cursorUsers)
	x := expected(t, e.attack(apt29.StepDisableAudit), "audit.advanced-auditing-disabled")
	n := webhook.Notification{SubscriptionID: e.stored()["users"].ID, Resource: "users", ChangeType: "updated"}

	failing.Store(true)
	if err := e.app.ProcessChanges(ctx, n); err == nil {
		t.Error("ProcessChanges succeeded although the SKUs could not be read")
	}
	if got := e.cursor(cursorUsers); got.DeltaLink != before.DeltaLink {
		t.Error("the users cursor moved past a round that could not judge its changes")
	}
	if _, ok := e.findingFor(x.Rule, x.SubjectID); ok {
		t.Errorf("%s recorded without the SKUs", x.Rule)
	}

	failing.Store(false)
	e.clk.Advance(time.Minute)
	e.must("ProcessChanges", e.app.ProcessChanges(ctx, n))
	e.alerted(x)
}
