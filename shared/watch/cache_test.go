package watch_test

import (
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Simulated routes a directory poll may read.
const (
	routeSPDelta    = "/servicePrincipals/delta"
	routeAppDelta   = "/applications/delta"
	routeAudits     = "/auditLogs/directoryAudits"
	routeUsers      = "/users"
	routeOrg        = "/organization"
	routeSkus       = "/subscribedSkus"
	routeSPs        = "/servicePrincipals"
	routeGrants     = "/servicePrincipals/{id}/appRoleAssignedTo"
	routeLocations  = "/identity/conditionalAccess/namedLocations"
	graphResourceID = "00000003-0000-0000-c000-000000000000"
)

// pollRequests runs one PollDirectory and returns the requests it made,
// by simulated route.
func (e *env) pollRequests() map[string]int {
	e.t.Helper()
	before := e.sim.Stats().Requests
	e.must("PollDirectory", e.app.PollDirectory(e.t.Context()))
	out := map[string]int{}
	for route, n := range e.sim.Stats().Requests {
		if d := n - before[route]; d > 0 {
			out[route] = d
		}
	}
	return out
}

// TestPollDirectoryRequestsPerPoll: a directory poll reads the two delta
// rounds, the audit window and the users its events name — nothing it
// read before that has not changed. The organization, the SKUs, the
// resource service principals, the grants on them and the named
// locations are read again when an hour has passed, or when the round
// shows them changed: an app-role grant or a named-location change in the
// audit log, a resource service principal in the delta round. Each change
// costs one read, though the audit window's overlap reads its event again.
// The tenant's size does not matter.
//
// TENANTWATCH_POLL_USERS=100000 adds a tenant of that many users (slow:
// installing it takes minutes), for the README's figures.
func TestPollDirectoryRequestsPerPoll(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 10000}
	if v := os.Getenv("TENANTWATCH_POLL_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("TENANTWATCH_POLL_USERS=%q: want a number of users", v)
		}
		sizes = append(sizes, n)
	}
	for _, users := range sizes {
		t.Run(fmt.Sprint("users=", users), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Sim: graphsim.Options{Users: users}})
			ctx := t.Context()
			e.install()

			// Who the events name: an admin and a user of the scenario.
			var named []tenant.User
			e.must("users", e.gc.Users(ctx, false, func(u tenant.User) error {
				if len(named) < 2 {
					named = append(named, u)
				}
				return nil
			}))
			var graphSP string
			e.must("resource service principal", e.gc.ServicePrincipalsByAppID(ctx, []string{graphResourceID}, func(sp tenant.ServicePrincipal) error {
				graphSP = sp.ID
				return nil
			}))
			n := 0
			event := func(activity, category, targetID, targetType string) {
				t.Helper()
				n++
				e.must("append audit event", e.sim.AppendLog(graphsim.LogDirectoryAudits, map[string]any{
					"id": fmt.Sprintf("Directory_poll_%d", n), "activityDateTime": e.clk.Now().Format(time.RFC3339),
					"activityDisplayName": activity, "category": category, "loggedByService": "Core Directory", "result": "success",
					"initiatedBy":     map[string]any{"user": map[string]any{"id": named[0].ID, "userPrincipalName": named[0].UPN}},
					"targetResources": []any{map[string]any{"id": targetID, "type": targetType, "displayName": "x"}},
				}))
			}
			// Every poll: both delta rounds, the audit window and the two
			// users its events name (one request by id).
			base := map[string]int{routeSPDelta: 1, routeAppDelta: 1, routeAudits: 1, routeUsers: 1}
			with := func(extra map[string]int) map[string]int {
				out := maps.Clone(base)
				maps.Copy(out, extra)
				return out
			}
			poll := func(what string, want map[string]int) {
				t.Helper()
				e.clk.Advance(2 * time.Minute)
				if got := e.pollRequests(); !cmp.Equal(want, got) {
					t.Errorf("%s: requests per route (-want +got):\n%s", what, cmp.Diff(want, got))
				}
			}

			for i := range 12 {
				event("Update user", "UserManagement", named[1].ID, "User")
				poll(fmt.Sprintf("poll %d with an audit event", i+1), base)
			}
			e.clk.Advance(40 * time.Minute) // past the hour since installation
			event("Update user", "UserManagement", named[1].ID, "User")
			poll("the hourly refresh", with(map[string]int{routeOrg: 1, routeSkus: 1, routeSPs: 1, routeGrants: 2, routeLocations: 1}))
			poll("after the refresh", base)

			event("Add app role assignment to service principal", "ApplicationManagement", graphSP, "ServicePrincipal")
			poll("an app-role grant", with(map[string]int{routeGrants: 2}))
			poll("the grant again in the window's overlap", base)

			event("Update named location", "Policy", "0b3fd4a1-6c3a-4f0e-9a0e-5c9c3d3e1f10", "Policy")
			poll("a named location changed", with(map[string]int{routeLocations: 1}))

			_, err := e.sim.Update(graphsim.KindServicePrincipal, graphSP, map[string]any{"displayName": "Microsoft Graph (renamed)"})
			e.must("rename the Graph service principal", err)
			event("Update user", "UserManagement", named[1].ID, "User")
			poll("a resource service principal changed", with(map[string]int{routeSPs: 1, routeGrants: 2}))
			poll("after that", base)

			e.clk.Advance(20 * time.Minute)
			poll("the last event in the window's overlap once more", base)
			e.clk.Advance(2 * time.Minute) // the window holds no event now
			if got := e.pollRequests(); !cmp.Equal(map[string]int{routeSPDelta: 1, routeAppDelta: 1, routeAudits: 1}, got) {
				t.Errorf("a quiet poll: %v, want the delta rounds and the audit window alone", got)
			}
			if strings.Contains(e.logs.String(), "level=ERROR") {
				t.Error("errors logged; see the logs")
			}
		})
	}
}

// TestPollDirectoryCacheAfterResync: a resync (every delta link expired)
// returns only what differs from the baselines; the resource service
// principals kept from installation stay, so a backdoor on a mail-reading
// app found after it is still judged against the grants on them (high).
func TestPollDirectoryCacheAfterResync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.install()
	e.clk.Advance(2 * time.Minute)
	e.sim.ExpireDeltaTokens()
	got := e.pollRequests()
	for _, r := range []string{routeSPs, routeGrants} {
		if got[r] != 0 {
			t.Errorf("the resync poll read %s %d times; the install round's resource service principals are still good", r, got[r])
		}
	}
	e.clk.Advance(2 * time.Minute)
	res := e.attack(apt29.StepSPBackdoor)
	e.clk.Advance(2 * time.Minute)
	e.must("PollDirectory", e.app.PollDirectory(t.Context()))
	x := expected(t, res, "sp.credential-added")
	if x.Severity != "high" {
		t.Fatalf("the scenario expects %s for the backdoor; the test wants a mail-reading app (high)", x.Severity)
	}
	rec := e.alerted(x)
	if rec.Finding.Severity != tenant.SeverityHigh {
		t.Errorf("sp.credential-added after a resync: %s, want high (the app's mail grants on the cached resources)", rec.Finding.Severity)
	}
}
