package collect_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// roundReader serves the reads of the incremental rounds, each named as
// in its calls; a denied read answers an error wrapping
// tenant.ErrAccessDenied, a failing one another error. Reader methods the
// rounds must not call are left to the nil embedded Reader: calling one
// panics, and the test fails.
type roundReader struct {
	collect.Reader
	mu      sync.Mutex
	denied  map[string]bool
	failing map[string]error
	calls   []string
}

var errBroken = errors.New("503 Service Unavailable after every retry")

func (f *roundReader) gate(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if err := f.failing[call]; err != nil {
		return fmt.Errorf("graph: GET /%s: %w", call, err)
	}
	if f.denied[call] {
		return fmt.Errorf("graph: GET /%s: 403 Authorization_RequestDenied: Insufficient privileges: %w", call, tenant.ErrAccessDenied)
	}
	return nil
}

func (f *roundReader) UsersDelta(_ context.Context, link string, fn func(tenant.DeltaItem[tenant.User]) error) (string, error) {
	if err := f.gate("usersDelta"); err != nil {
		return "", err
	}
	u := tenant.User{ID: "u1", UPN: "u1@contoso.example", Licenses: []tenant.License{{SkuID: "sku", DisabledPlans: []string{"plan"}}}}
	return link + "+1", fn(tenant.DeltaItem[tenant.User]{Object: u})
}

func (f *roundReader) ServicePrincipalsDelta(_ context.Context, link string, fn func(tenant.DeltaItem[tenant.ServicePrincipal]) error) (string, error) {
	if err := f.gate("servicePrincipalsDelta"); err != nil {
		return "", err
	}
	sp := tenant.ServicePrincipal{ID: "sp1", AppID: "app1", DisplayName: "Payroll"}
	return link + "+1", fn(tenant.DeltaItem[tenant.ServicePrincipal]{Object: sp})
}

func (f *roundReader) ApplicationsDelta(_ context.Context, link string, _ func(tenant.DeltaItem[tenant.Application]) error) (string, error) {
	return link + "+1", f.gate("applicationsDelta")
}

func (f *roundReader) DirectoryAudits(_ context.Context, _ time.Time, fn func(tenant.AuditEvent) error) error {
	if err := f.gate("directoryAudits"); err != nil {
		return err
	}
	return fn(tenant.AuditEvent{ID: "e1", Time: now.Add(-time.Minute), Activity: "Update user", Result: "success",
		Initiator: tenant.Actor{UserID: "u1"}, Targets: []tenant.Target{{ID: "u2", Type: "User"}}})
}

func (f *roundReader) ServicePrincipalsByAppID(_ context.Context, appIDs []string, fn func(tenant.ServicePrincipal) error) error {
	if err := f.gate("servicePrincipalsByAppId"); err != nil {
		return err
	}
	if !slices.Equal(appIDs, tenant.MailResources()) {
		return fmt.Errorf("unexpected look-up of %v", appIDs)
	}
	return fn(tenant.ServicePrincipal{ID: "graph-sp", AppID: tenant.GraphAppID, DisplayName: "Microsoft Graph"})
}

func (f *roundReader) AppRoleAssignedTo(_ context.Context, id string, fn func(tenant.AppRoleAssignment) error) error {
	if err := f.gate("appRoleAssignedTo"); err != nil {
		return err
	}
	return fn(tenant.AppRoleAssignment{ID: "g1", PrincipalID: "sp1", ResourceID: id})
}

func (f *roundReader) SubscribedSKUs(context.Context) ([]tenant.SKU, error) {
	return []tenant.SKU{{SkuID: "sku"}}, f.gate("subscribedSkus")
}

func (f *roundReader) NamedLocations(context.Context) ([]tenant.NamedLocation, error) {
	return []tenant.NamedLocation{{ID: "nl", Kind: "ip", Trusted: true}}, f.gate("namedLocations")
}

// The groups roundReader's Conditional Access policies name.
const (
	gExcl   = "0000000a-0000-0000-0000-000000000001"
	gMFA    = "0000000a-0000-0000-0000-000000000002"
	gReport = "0000000a-0000-0000-0000-000000000003"
)

// CAPolicies serves two enabled policies: one blocking the device-code
// flow for all users but group gExcl, one requiring MFA of group gMFA;
// and a report-only one naming gReport, whose members are not read.
func (f *roundReader) CAPolicies(context.Context) ([]tenant.CAPolicy, error) {
	return []tenant.CAPolicy{
		{ID: "p-code", State: "enabled", IncludeUsers: []string{"All"}, ExcludeGroups: []string{strings.ToUpper(gExcl)}, BuiltInControls: []string{"block"}, TransferMethods: "deviceCodeFlow"},
		{ID: "p-mfa", State: "enabled", IncludeGroups: []string{gMFA}, BuiltInControls: []string{"mfa"}},
		{ID: "p-report", State: "enabledForReportingButNotEnforced", IncludeGroups: []string{gReport}},
	}, f.gate("caPolicies")
}

// GroupUserMembers serves u3 as the one member of every group.
func (f *roundReader) GroupUserMembers(_ context.Context, groupID string, fn func(string) error) error {
	if err := f.gate("groupUserMembers " + groupID); err != nil {
		return err
	}
	return fn("U3")
}

func (f *roundReader) Organization(context.Context) (tenant.Organization, error) {
	return tenant.Organization{ID: "tid"}, f.gate("organization")
}

func (f *roundReader) UsersByID(_ context.Context, ids []string, withActivity bool, fn func(tenant.User) error) error {
	call := "usersById"
	if withActivity {
		call += "+signInActivity"
	}
	if err := f.gate(call); err != nil {
		return err
	}
	for _, id := range ids {
		if err := fn(tenant.User{ID: id}); err != nil {
			return err
		}
	}
	return nil
}

func (f *roundReader) SignIns(_ context.Context, _ time.Time, fn func(tenant.SignIn) error) error {
	if err := f.gate("signIns"); err != nil {
		return err
	}
	return each([]tenant.SignIn{{ID: "s1", UserID: "U1", Time: now.Add(-time.Minute)}, {ID: "s2", UserID: "u2", ErrorCode: 50126}}, fn)
}

// Devices serves no device (the rounds list devices only for the
// registrations their audit events name; deviceLister serves some).
func (f *roundReader) Devices(context.Context, func(tenant.Device) error) error {
	return f.gate("devices")
}

// SignInsBeta serves beta's sign-ins: the v1.0 ones with the beta
// properties, and a device-code sign-in of u3.
func (f *roundReader) SignInsBeta(_ context.Context, _ time.Time, fn func(tenant.SignIn) error) error {
	if err := f.gate("signInsBeta"); err != nil {
		return err
	}
	return each([]tenant.SignIn{{ID: "s1", UserID: "U1", Time: now.Add(-time.Minute), AuthProtocol: "none"},
		{ID: "s2", UserID: "u2", ErrorCode: 50126},
		{ID: "s3", UserID: "u3", Time: now.Add(-2 * time.Minute), AuthProtocol: "deviceCode", OriginalTransferMethod: "deviceCodeFlow"}}, fn)
}

// stored is a test double of the stored state the rounds read: no
// baselines, and one sign-in of u1 in the history.
type stored struct {
	baselines []state.Baseline      // streamed by Baselines, by type
	findings  []state.FindingRecord // streamed by Findings and RecentFindings
	failures  []tenant.FailureTally // returned by SignInFailures, from their bucket on
	chain     []tenant.SignIn       // returned by ChainSignIns
	// asked records the rules RecentFindings was asked for.
	asked *[]string
}

func (s stored) RecentFindings(_ context.Context, rules []string, since time.Time, fn func(state.FindingRecord) error) error {
	if s.asked != nil {
		*s.asked = append(*s.asked, rules...)
	}
	for _, f := range s.findings {
		match := false
		for _, r := range rules {
			if p, ok := strings.CutSuffix(r, "*"); ok && strings.HasPrefix(f.Finding.Rule, p) || r == f.Finding.Rule {
				match = true
			}
		}
		if !match || f.LastSeen.Before(since) {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (s stored) ChainSignIns(_ context.Context, ids []string, since time.Time) ([]tenant.SignIn, error) {
	var out []tenant.SignIn
	for _, si := range s.chain {
		if slices.Contains(ids, strings.ToLower(si.UserID)) && !si.Time.Before(since) {
			out = append(out, si)
		}
	}
	return out, nil
}

func (s stored) SignInFailures(_ context.Context, since time.Time) (*tenant.SignInFailures, error) {
	agg := &tenant.SignInFailures{}
	for _, t := range s.failures {
		if !t.Bucket.Before(since.Truncate(tenant.FailureBucketWidth)) {
			agg.Merge(t)
		}
	}
	return agg, nil
}

func (stored) BaselinesByID(context.Context, tenant.SubjectType, []string) (map[string]state.Baseline, error) {
	return nil, nil
}

func (s stored) Baselines(_ context.Context, typ tenant.SubjectType, fn func(state.Baseline) error) error {
	for _, b := range s.baselines {
		if b.Type != typ {
			continue
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func (s stored) Findings(_ context.Context, fn func(state.FindingRecord) error) error {
	for _, f := range s.findings {
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (stored) SignInHistory(_ context.Context, ids []string) (map[string][]time.Time, error) {
	if !slices.Contains(ids, "u1") {
		return nil, nil
	}
	return map[string][]time.Time{"u1": {now.Add(-48 * time.Hour)}}, nil
}

var window = collect.Window{Round: "TestRound", Now: now, Since: now.Add(-15 * time.Minute)}

// round runs one kind of round and returns its snapshot.
type round func(ctx context.Context, r *collect.Rounds) (*tenant.Snapshot, error)

var (
	usersRound = func(ctx context.Context, r *collect.Rounds) (*tenant.Snapshot, error) {
		u, err := r.Users(ctx, "link", window)
		if err != nil {
			return nil, err
		}
		return u.Snapshot, nil
	}
	directoryRound = func(ctx context.Context, r *collect.Rounds) (*tenant.Snapshot, error) {
		u, err := r.Directory(ctx, collect.DirectoryFrom{ServicePrincipals: "sp", Applications: "app", HistoryFrom: now.Add(-15 * 24 * time.Hour)}, window)
		if err != nil {
			return nil, err
		}
		return u.Snapshot, nil
	}
	signInsRound = func(ctx context.Context, r *collect.Rounds) (*tenant.Snapshot, error) {
		u, err := r.SignIns(ctx, window)
		if err != nil {
			return nil, err
		}
		return u.Snapshot, nil
	}
)

// notRead is what a round's snapshot says of the sources it does not read.
func notRead(read ...tenant.Source) map[tenant.Source]string {
	out := make(map[tenant.Source]string)
	for _, src := range tenant.Sources() {
		if !slices.Contains(read, src) {
			out[src] = "not read by TestRound"
		}
	}
	return out
}

// TestRoundsOneRuleForUnavailableSources: every read of every round
// follows the rule the scan follows. Access denied marks the source
// unavailable with Graph's answer (the rules that need it are skipped with
// it) and the round goes on with the rest; any other failure fails the
// round, naming the source, so that its cursor does not move and the next
// round reads again.
func TestRoundsOneRuleForUnavailableSources(t *testing.T) {
	t.Parallel()
	directorySources := []tenant.Source{tenant.SourceServicePrincipals, tenant.SourceApplications, tenant.SourceDirectoryAudits,
		tenant.SourceResourceGrants, tenant.SourceSubscribedSkus, tenant.SourceNamedLocations, tenant.SourceOrganization,
		tenant.SourceUsers, tenant.SourceSignInActivity, tenant.SourceSignIns}
	signInSources := []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInsBeta, tenant.SourceNamedLocations,
		tenant.SourceCAPolicies, tenant.SourceCAGroupMembers}
	tests := []struct {
		name  string
		round round
		reads []string // the reads denied, or failing; none: the round reads everything
		// unavailable are the sources the denied reads leave unavailable;
		// the others of sources are read.
		unavailable []tenant.Source
		sources     []tenant.Source // every source the round reads
		nilSnapshot bool            // denied, the round has nothing to judge
		// fallback: the first read failing is no failure either (beta's
		// sign-in log: v1.0's is read instead; TestSignInsRound).
		fallback bool
	}{
		{name: "users", round: usersRound, sources: []tenant.Source{tenant.SourceUsers, tenant.SourceSubscribedSkus}},
		{name: "users: delta", round: usersRound, reads: []string{"usersDelta"}, nilSnapshot: true},
		{name: "users: subscribedSkus", round: usersRound, reads: []string{"subscribedSkus"},
			sources: []tenant.Source{tenant.SourceUsers, tenant.SourceSubscribedSkus}, unavailable: []tenant.Source{tenant.SourceSubscribedSkus}},

		{name: "directory", round: directoryRound, sources: directorySources},
		{name: "directory: service principal delta", round: directoryRound, reads: []string{"servicePrincipalsDelta"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceServicePrincipals}},
		{name: "directory: application delta", round: directoryRound, reads: []string{"applicationsDelta"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceApplications}},
		{name: "directory: audit log", round: directoryRound, reads: []string{"directoryAudits"}, // no event names a user to read
			sources: directorySources[:len(directorySources)-3], unavailable: []tenant.Source{tenant.SourceDirectoryAudits}},
		{name: "directory: resource service principals", round: directoryRound, reads: []string{"servicePrincipalsByAppId"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceResourceGrants}},
		{name: "directory: grants", round: directoryRound, reads: []string{"appRoleAssignedTo"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceResourceGrants}},
		{name: "directory: subscribedSkus", round: directoryRound, reads: []string{"subscribedSkus"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceSubscribedSkus}},
		{name: "directory: named locations", round: directoryRound, reads: []string{"namedLocations"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceNamedLocations}},
		{name: "directory: organization", round: directoryRound, reads: []string{"organization"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceOrganization}},
		{name: "directory: signInActivity of the users named", round: directoryRound, reads: []string{"usersById+signInActivity"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceSignInActivity}},
		{name: "directory: the users named", round: directoryRound, reads: []string{"usersById+signInActivity", "usersById"},
			sources: directorySources, unavailable: []tenant.Source{tenant.SourceSignInActivity, tenant.SourceUsers}},

		// Beta's log holds a device-code sign-in: the named locations
		// and the Conditional Access posture are read to judge it.
		{name: "sign-ins", round: signInsRound, sources: signInSources},
		{name: "sign-ins: conditional access members", round: signInsRound, reads: []string{"groupUserMembers " + gExcl},
			sources: signInSources, unavailable: []tenant.Source{tenant.SourceCAGroupMembers}},
		{name: "sign-ins: beta log", round: signInsRound, reads: []string{"signInsBeta"}, fallback: true,
			sources: []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInsBeta}, unavailable: []tenant.Source{tenant.SourceSignInsBeta}},
		{name: "sign-ins: both logs", round: signInsRound, reads: []string{"signInsBeta", "signIns"}, fallback: true,
			sources: []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInsBeta}, unavailable: []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInsBeta}},
	}
	for _, tc := range tests {
		name := tc.name + ": denied"
		if len(tc.reads) == 0 {
			name = tc.name + ": every read answers"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &roundReader{denied: make(map[string]bool)}
			for _, r := range tc.reads {
				f.denied[r] = true
			}
			s, err := tc.round(t.Context(), collect.NewRounds(f, stored{}, nil))
			if err != nil {
				t.Fatalf("round failed: %v; a denied read is not a failure", err)
			}
			if tc.nilSnapshot {
				if s != nil {
					t.Fatalf("snapshot %+v, want none: the round read nothing to judge", s)
				}
				return
			}
			if s == nil {
				t.Fatal("no snapshot")
			}
			want := notRead(tc.sources...)
			for _, src := range tc.unavailable {
				want[src] = "denied" // stands for Graph's answer, checked below
			}
			got := maps.Clone(s.Unavailable)
			for src, reason := range got {
				if reason != "not read by TestRound" {
					if !strings.HasPrefix(reason, "GET /") || !strings.Contains(reason, "403 Authorization_RequestDenied") {
						t.Errorf("%s unavailable because %q, want Graph's answer without the graph: prefix", src, reason)
					}
					got[src] = "denied"
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("unavailable sources (-want +got):\n%s", diff)
			}
		})
		if len(tc.reads) == 0 || tc.fallback {
			continue
		}
		t.Run(tc.name+": failing", func(t *testing.T) {
			t.Parallel()
			f := &roundReader{failing: map[string]error{tc.reads[0]: errBroken}}
			s, err := tc.round(t.Context(), collect.NewRounds(f, stored{}, nil))
			if err == nil {
				t.Fatalf("round succeeded (unavailable %v) although %s failed", s.Unavailable, tc.reads[0])
			}
			if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "collect: read ") {
				t.Errorf("error %q, want one naming the source read and wrapping the failure", err)
			}
		})
	}
}

// TestDirectoryRoundContents: what a directory round hands the detectors
// (the changed objects, the events, the resource service principals, the
// users the events name with their sign-in history) and what it reads
// again on the next round: only the changes, the cache keeping the rest.
func TestDirectoryRoundContents(t *testing.T) {
	t.Parallel()
	f := &roundReader{}
	r := collect.NewRounds(f, stored{}, &collect.RoundsOptions{Now: func() time.Time { return now }})
	from := collect.DirectoryFrom{ServicePrincipals: "sp", Applications: "app", HistoryFrom: now.Add(-15 * 24 * time.Hour)}
	u, err := r.Directory(t.Context(), from, window)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Snapshot
	var sps []string
	for _, sp := range s.ServicePrincipals {
		sps = append(sps, sp.ID)
	}
	var users []string
	for _, u := range s.Users {
		users = append(users, u.ID)
	}
	if diff := cmp.Diff([]string{"sp1", "graph-sp"}, sps); diff != "" {
		t.Errorf("service principals: the changed one, then the resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"u1", "u2"}, users); diff != "" {
		t.Errorf("users: those the event names (-want +got):\n%s", diff)
	}
	if len(s.SignIns) != 1 || s.SignIns[0].UserID != "u1" || !s.Since.Equal(from.HistoryFrom) {
		t.Errorf("sign-ins %v since %v: want u1's history, the window reaching back as far", s.SignIns, s.Since)
	}
	if u.ServicePrincipals.Link != "sp+1" || u.Applications.Link != "app+1" || u.Audits != 1 {
		t.Errorf("links %q %q, audits %d", u.ServicePrincipals.Link, u.Applications.Link, u.Audits)
	}

	f.calls = nil
	if _, err := r.Directory(t.Context(), collect.DirectoryFrom{ServicePrincipals: "sp+1", Applications: "app+1"}, window); err != nil {
		t.Fatal(err)
	}
	want := []string{"servicePrincipalsDelta", "applicationsDelta", "directoryAudits", "usersById+signInActivity"}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("second round's reads: the changes alone (-want +got):\n%s", diff)
	}
}

// TestSignInsRound: successful sign-ins only, grouped by lower-case user
// for the history; read from beta when it answers (one read for both
// sources), from v1.0 otherwise, with the reason beta's source is
// unavailable.
func TestSignInsRound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		denied  []string
		failing []string
		calls   []string
		ids     []string // successful sign-ins in the snapshot
		reason  string   // why signInsBeta is unavailable; "" = read
		fails   bool     // the round fails
	}{
		// s3 is by device code: the Conditional Access policies, the
		// members of the groups they name and the named locations are
		// read to judge it.
		{name: "beta", calls: []string{"signInsBeta", "caPolicies", "groupUserMembers " + gExcl, "groupUserMembers " + gMFA, "namedLocations"}, ids: []string{"s1", "s3"}},
		{name: "beta switched off", failing: []string{"signInsBeta"}, calls: []string{"signInsBeta", "signIns"}, ids: []string{"s1"},
			reason: tenant.BetaDisabledReason},
		{name: "beta denied", denied: []string{"signInsBeta"}, calls: []string{"signInsBeta", "signIns"}, ids: []string{"s1"},
			reason: "GET /signInsBeta: 403 Authorization_RequestDenied: Insufficient privileges: access denied"},
		{name: "beta failing", failing: []string{"signInsBeta"}, calls: []string{"signInsBeta", "signIns"}, ids: []string{"s1"},
			reason: "the beta sign-in log failed (GET /signInsBeta: 503 Service Unavailable after every retry); the v1.0 log was read instead"},
		{name: "both failing", failing: []string{"signInsBeta", "signIns"}, calls: []string{"signInsBeta", "signIns"}, fails: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &roundReader{denied: make(map[string]bool), failing: make(map[string]error)}
			for _, d := range tc.denied {
				f.denied[d] = true
			}
			for _, d := range tc.failing {
				f.failing[d] = errBroken
				if tc.reason == tenant.BetaDisabledReason {
					f.failing[d] = tenant.ErrBetaDisabled
				}
			}
			u, err := collect.NewRounds(f, stored{}, nil).SignIns(t.Context(), window)
			if diff := cmp.Diff(tc.calls, f.calls); diff != "" {
				t.Errorf("reads (-want +got):\n%s", diff)
			}
			if tc.fails {
				if !errors.Is(err, errBroken) {
					t.Errorf("round error %v, want the v1.0 read's failure", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, si := range u.Snapshot.SignIns {
				ids = append(ids, si.ID)
			}
			if diff := cmp.Diff(tc.ids, ids); diff != "" {
				t.Errorf("successful sign-ins (-want +got):\n%s", diff)
			}
			if !u.Snapshot.Available(tenant.SourceSignIns) {
				t.Errorf("signIns unavailable: %s", u.Snapshot.Unavailable[tenant.SourceSignIns])
			}
			if got := u.Snapshot.Unavailable[tenant.SourceSignInsBeta]; got != tc.reason {
				t.Errorf("signInsBeta unavailable because %q, want %q", got, tc.reason)
			}
			if diff := cmp.Diff(map[string][]time.Time{"u1": {now.Add(-time.Minute)}}, u.ByUser, cmpopts.IgnoreMapEntries(func(k string, _ []time.Time) bool { return k == "u3" })); diff != "" {
				t.Errorf("ByUser (-want +got):\n%s", diff)
			}
		})
	}
}

// sprayReader serves failed sign-ins (and the reads a sign-in round makes).
type sprayReader struct {
	roundReader
	signIns []tenant.SignIn
}

func (f *sprayReader) SignInsBeta(_ context.Context, _ time.Time, fn func(tenant.SignIn) error) error {
	return each(f.signIns, fn)
}

// TestSignInsRoundFailures: the round's failed sign-ins (spray error codes)
// are tallied, not kept as sign-ins; its own tallies are what the app
// stores, and the snapshot holds them merged with the stored ones of the
// last two hours, so the spray rule sees a window that straddles polls.
func TestSignInsRoundFailures(t *testing.T) {
	t.Parallel()
	fail := func(id, user, ip string, ago time.Duration) tenant.SignIn {
		return tenant.SignIn{ID: id, UserID: user, IP: ip, ErrorCode: 50126, Time: now.Add(-ago), ClientApp: "IMAP4"}
	}
	var earlier tenant.SignInFailures
	earlier.Add(fail("e1", "a1", "203.0.113.5", 40*time.Minute))
	earlier.Add(fail("e2", "a9", "203.0.113.5", 3*time.Hour)) // older than the window kept
	r := &sprayReader{signIns: []tenant.SignIn{
		fail("f1", "a2", "203.0.113.5", 35*time.Minute),
		fail("f2", "a3", "203.0.113.5", time.Minute),
		fail("f3", "a4", "203.0.113.5", 5*time.Hour),                                               // the install round's look-back: not kept
		{ID: "f4", UserID: "a5", IP: "203.0.113.5", ErrorCode: 50074, Time: now.Add(-time.Minute)}, // MFA required: no spray code
		{ID: "ok", UserID: "a6", IP: "198.51.100.1", Time: now.Add(-time.Minute)},
	}}
	u, err := collect.NewRounds(r, stored{failures: earlier.Tallies()}, nil).SignIns(t.Context(), window)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Snapshot.SignIns) != 1 || u.Snapshot.SignIns[0].ID != "ok" {
		t.Errorf("sign-ins %+v, want the successful one alone", u.Snapshot.SignIns)
	}
	members := func(f *tenant.SignInFailures) []string {
		var out []string
		for _, tl := range f.Tallies() {
			if tl.Kind == tenant.FailureByNet {
				out = append(out, tl.Members...)
			}
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff([]string{"a2", "a3"}, members(u.Failures)); diff != "" {
		t.Errorf("the round's own tallies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a1", "a2", "a3"}, members(u.Snapshot.SignInFailures)); diff != "" {
		t.Errorf("the snapshot's aggregate (-want +got):\n%s", diff)
	}
	if want := now.Add(-collect.FailureKeep); !u.Snapshot.Since.Equal(want) {
		t.Errorf("snapshot since %v, want %v: the spray window reaches back as far as the aggregate", u.Snapshot.Since, want)
	}
	// A spray from a network is a finding about the tenant: with failures
	// in the aggregate the round reads the organization (TestSignInsRound:
	// not without), so the rule names the tenant.
	if u.Snapshot.Organization.ID != "tid" || !u.Snapshot.Available(tenant.SourceOrganization) {
		t.Errorf("organization %+v (available %v), want the tenant's: a spray's finding about the tenant would name none",
			u.Snapshot.Organization, u.Snapshot.Available(tenant.SourceOrganization))
	}
}

// TestRoundsPrior: the sign-in round joins the earlier findings on the
// users of its device-code sign-ins, the directory round those on the
// users its device audit events name; only the rules they join, within
// the window, on the subjects involved.
func TestRoundsPrior(t *testing.T) {
	t.Parallel()
	rec := func(rule, subject string, ev map[string]any, ago time.Duration) state.FindingRecord {
		return state.FindingRecord{Finding: tenant.Finding{Rule: rule, Key: rule + ":" + subject,
			Subject: tenant.Subject{Type: tenant.SubjectUser, ID: subject}, Evidence: ev}, LastSeen: now.Add(-ago)}
	}
	st := stored{findings: []state.FindingRecord{
		rec("device.rogue-registration", "U3", nil, time.Hour),
		rec("mfa.dormant-registration", "u3", nil, 2*24*time.Hour),
		rec("mfa.not-registered", "u3", nil, 9*24*time.Hour),  // older than the window
		rec("mfa.dormant-registration", "u1", nil, time.Hour), // u1 signed in, not by device code
		rec("sp.credential-added", "u3", nil, time.Hour),      // not joined by the sign-in rules
		rec("signin.device-code", "u2", nil, time.Hour),
		rec("signin.azure-ip", "other", map[string]any{"userId": "U2"}, time.Hour),
		rec("signin.device-code", "u9", nil, time.Hour),
	}}
	keys := func(fs []tenant.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Key)
		}
		slices.Sort(out)
		return out
	}
	u, err := collect.NewRounds(&roundReader{}, st, nil).SignIns(t.Context(), window)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"device.rogue-registration:U3", "mfa.dormant-registration:u3"}, keys(u.Snapshot.Prior)); diff != "" {
		t.Errorf("sign-in round's prior findings (-want +got):\n%s", diff)
	}
	if len(u.Chain) != 1 || u.Chain[0].ID != "s3" {
		t.Errorf("chain sign-ins %+v, want the device-code one (s3)", u.Chain)
	}

	// A broker sign-in to the Device Registration Service and a success on
	// an account of the stored failures join too; a plain one does not.
	var sprayedBefore tenant.SignInFailures
	sprayedBefore.Add(tenant.SignIn{UserID: "s1", IP: "203.0.113.5", ErrorCode: 50126, Time: now.Add(-30 * time.Minute)})
	st2 := st
	st2.failures = sprayedBefore.Tallies()
	st2.findings = append(slices.Clone(st.findings),
		rec("device.rogue-registration", "b1", nil, time.Hour),
		rec("posture.dormant-excluded-from-mfa", "s1", nil, 20*time.Hour),
		rec("mfa.dormant-unregistered", "u7", nil, time.Hour))
	sr := &sprayReader{signIns: []tenant.SignIn{
		{ID: "b", UserID: "b1", Time: now.Add(-time.Minute), AppID: "29d9ed98-a469-4536-ade2-f981bc1d605e", ResourceID: "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"},
		{ID: "s", UserID: "S1", Time: now.Add(-time.Minute)},
		{ID: "p", UserID: "u7", Time: now.Add(-time.Minute)},
	}}
	u, err = collect.NewRounds(sr, st2, nil).SignIns(t.Context(), window)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"device.rogue-registration:b1", "posture.dormant-excluded-from-mfa:s1"}, keys(u.Snapshot.Prior)); diff != "" {
		t.Errorf("broker and spray joins (-want +got):\n%s", diff)
	}
	// The sprayed account that signed in is read, with its signInActivity,
	// for the spray rule's raise; the others are not.
	var users []string
	for _, usr := range u.Snapshot.Users {
		users = append(users, usr.ID)
	}
	if diff := cmp.Diff([]string{"s1"}, users); diff != "" || !u.Snapshot.Available(tenant.SourceUsers) || !u.Snapshot.Available(tenant.SourceSignInActivity) {
		t.Errorf("users read (users %v, signInActivity %v) (-want +got):\n%s", u.Snapshot.Available(tenant.SourceUsers),
			u.Snapshot.Available(tenant.SourceSignInActivity), diff)
	}

	// The directory round: its audit event ("Update user", u1 → u2) is not a
	// device event; with a device event on u2, u2's sign-in findings join.
	dr := &deviceAudits{}
	st.chain = []tenant.SignIn{
		{ID: "c-u2", UserID: "U2", Time: now.Add(-3 * time.Hour), AuthProtocol: "deviceCode"},
		{ID: "c-u2-old", UserID: "u2", Time: now.Add(-30 * time.Hour), AuthProtocol: "deviceCode"},
		{ID: "c-u9", UserID: "u9", Time: now.Add(-time.Hour), AuthProtocol: "deviceCode"},
	}
	d, err := collect.NewRounds(dr, st, nil).Directory(t.Context(), collect.DirectoryFrom{HistoryFrom: now.Add(-15 * 24 * time.Hour)}, window)
	if err != nil {
		t.Fatal(err)
	}
	var chained []string
	for _, si := range d.Snapshot.SignIns {
		if si.ID != "" {
			chained = append(chained, si.ID)
		}
	}
	if diff := cmp.Diff([]string{"c-u2"}, chained); diff != "" {
		t.Errorf("the kept chain sign-ins of the registering user (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"signin.azure-ip:other", "signin.device-code:u2"}, keys(d.Snapshot.Prior)); diff != "" {
		t.Errorf("directory round's prior findings (-want +got):\n%s", diff)
	}
	var asked []string
	st.asked = &asked
	if _, err := collect.NewRounds(&roundReader{}, st, nil).Directory(t.Context(), collect.DirectoryFrom{}, window); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(asked, "signin.device-code") {
		t.Errorf("a round without device events read the device joins: %v", asked)
	}
}

// deviceAudits serves an "Add registered owner to device" event on u2.
type deviceAudits struct{ roundReader }

func (f *deviceAudits) DirectoryAudits(_ context.Context, _ time.Time, fn func(tenant.AuditEvent) error) error {
	return fn(tenant.AuditEvent{ID: "d1", Time: now.Add(-time.Minute), Activity: "Add registered owner to device", Result: "success",
		Initiator: tenant.Actor{AppID: "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9", DisplayName: "Device Registration Service"},
		Targets:   []tenant.Target{{ID: "dev1", Type: "Device"}, {ID: "u2", Type: "User"}}})
}

// halfBeta streams beta's sign-ins, then fails.
type halfBeta struct{ roundReader }

func (f *halfBeta) SignInsBeta(ctx context.Context, since time.Time, fn func(tenant.SignIn) error) error {
	if err := f.roundReader.SignInsBeta(ctx, since, fn); err != nil {
		return err
	}
	return fmt.Errorf("graph: GET /beta/auditLogs/signIns: page 2: %w", errBroken)
}

// TestSignInsRoundBetaCutShort: a beta read that fails after some pages
// leaves none of them behind: the v1.0 read that follows counts alone.
func TestSignInsRoundBetaCutShort(t *testing.T) {
	t.Parallel()
	f := &halfBeta{}
	u, err := collect.NewRounds(f, stored{}, nil).SignIns(t.Context(), window)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, si := range u.Snapshot.SignIns {
		ids = append(ids, si.ID)
	}
	if diff := cmp.Diff([]string{"s1"}, ids); diff != "" {
		t.Errorf("sign-ins (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]time.Time{"u1": {now.Add(-time.Minute)}}, u.ByUser); diff != "" {
		t.Errorf("ByUser (-want +got):\n%s", diff)
	}
	if u.Snapshot.Available(tenant.SourceSignInsBeta) {
		t.Error("signInsBeta available after its read failed")
	}
}

// deviceLister is deviceAudits with the device read.
type deviceLister struct {
	deviceAudits
	devices []tenant.Device
	listed  int
}

func (f *deviceLister) Devices(_ context.Context, fn func(tenant.Device) error) error {
	if err := f.gate("devices"); err != nil {
		return err
	}
	for _, d := range f.devices {
		f.listed++
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// TestDirectoryRoundDevices: a directory round whose audit events name a
// device reads the devices until it has found it, and hands the rules that
// one; denied, the source is unavailable with Graph's answer; a round
// without device events reads none.
func TestDirectoryRoundDevices(t *testing.T) {
	t.Parallel()
	devices := []tenant.Device{{ID: "other1"}, {ID: "DEV1", TrustType: "Workplace", OwnerIDs: []string{"u2"}}, {ID: "other2"}}
	tests := []struct {
		name    string
		reader  collect.RoundReader
		denied  bool
		devices []string // ids handed to the rules
		listed  int
		reason  string // why devices is unavailable; "" = read
	}{
		{name: "read until found", reader: &deviceLister{devices: devices}, devices: []string{"DEV1"}, listed: 2},
		{name: "denied", reader: &deviceLister{devices: devices}, denied: true,
			reason: "GET /devices: 403 Authorization_RequestDenied: Insufficient privileges: access denied"},
		{name: "no device event", reader: &roundReader{}, reason: "not read by TestRound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if l, ok := tc.reader.(*deviceLister); ok && tc.denied {
				l.denied = map[string]bool{"devices": true}
			}
			u, err := collect.NewRounds(tc.reader, stored{}, nil).Directory(t.Context(), collect.DirectoryFrom{}, window)
			if err != nil {
				t.Fatal(err)
			}
			s := u.Snapshot
			if got := s.Unavailable[tenant.SourceDevices]; got != tc.reason {
				t.Errorf("devices unavailable because %q, want %q", got, tc.reason)
			}
			var ids []string
			for _, d := range s.Devices {
				ids = append(ids, d.ID)
			}
			if diff := cmp.Diff(tc.devices, ids); diff != "" {
				t.Errorf("devices (-want +got):\n%s", diff)
			}
			if l, ok := tc.reader.(*deviceLister); ok && l.listed != tc.listed {
				t.Errorf("listed %d devices, want %d", l.listed, tc.listed)
			}
		})
	}
}

// codeReader serves sign-ins and devices.
type codeReader struct {
	sprayReader
	devices []tenant.Device
}

func (f *codeReader) Devices(_ context.Context, fn func(tenant.Device) error) error {
	for _, d := range f.devices {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// TestSignInsRoundDeviceCodeContext: a round with a device-code sign-in
// reads the named locations and the device the sign-in came from (by the
// id it registered with), which tell a conference-room device from a
// phished session; a round without one reads neither.
func TestSignInsRoundDeviceCodeContext(t *testing.T) {
	t.Parallel()
	room := tenant.Device{ID: "obj-room", DeviceID: "ROOM-1", IsManaged: true, IsCompliant: true}
	r := &codeReader{devices: []tenant.Device{{ID: "obj-other", DeviceID: "other"}, room},
		sprayReader: sprayReader{signIns: []tenant.SignIn{{ID: "c", UserID: "u1", Time: now.Add(-time.Minute), AuthProtocol: "deviceCode", DeviceID: "room-1"}}}}
	u, err := collect.NewRounds(r, stored{}, nil).SignIns(t.Context(), window)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Snapshot
	if len(s.Devices) != 1 || s.Devices[0].ID != "obj-room" || !s.Available(tenant.SourceDevices) {
		t.Errorf("devices %+v (available %v), want the room device", s.Devices, s.Available(tenant.SourceDevices))
	}
	if len(s.NamedLocations) != 1 || !s.Available(tenant.SourceNamedLocations) {
		t.Errorf("named locations %+v (available %v), want the tenant's", s.NamedLocations, s.Available(tenant.SourceNamedLocations))
	}
	r.signIns[0].AuthProtocol = "none"
	u, err = collect.NewRounds(r, stored{}, nil).SignIns(t.Context(), window)
	if err != nil {
		t.Fatal(err)
	}
	if u.Snapshot.Available(tenant.SourceDevices) || u.Snapshot.Available(tenant.SourceNamedLocations) {
		t.Error("a round without device-code sign-ins read devices or named locations")
	}
}

// TestSignInsRoundPosture: a round holding a sign-in whose rule the
// Conditional Access posture raises — by device code, or a success of an
// account the failure aggregate holds — reads the policies and the
// transitive user members of the groups the enabled ones name (once an
// hour: the next round reads none), so that signin.device-code and
// signin.password-spray judge the user as the scan does; a round without
// one reads neither. Access denied (no Policy.Read.All, no P1) leaves the
// sources unavailable with the reason and the round goes on; any other
// failure fails it.
func TestSignInsRoundPosture(t *testing.T) {
	t.Parallel()
	code := tenant.SignIn{ID: "c", UserID: "u3", Time: now.Add(-time.Minute), AuthProtocol: "deviceCode"}
	plain := tenant.SignIn{ID: "p", UserID: "u4", Time: now.Add(-time.Minute), AuthProtocol: "none"}
	sprayWin := tenant.SignIn{ID: "w", UserID: "u5", UPN: "victim@contoso.example", Time: now.Add(-time.Minute)}
	sprayed := []tenant.FailureTally{{Kind: tenant.FailureByAccount, Key: "victim@contoso.example", Bucket: now.Add(-30 * time.Minute).Truncate(tenant.FailureBucketWidth), Count: 12}}
	members := []string{"groupUserMembers " + gExcl, "groupUserMembers " + gMFA}
	denied := "GET /caPolicies: 403 Authorization_RequestDenied: Insufficient privileges: access denied"
	tests := []struct {
		name     string
		signIns  []tenant.SignIn
		failures []tenant.FailureTally
		denied   []string
		failing  []string
		calls    []string // the first round's reads; a second round an hour later (fresh cache) makes none of the posture reads
		read     bool     // the policies and members are in the snapshot
		reasons  map[tenant.Source]string
		fails    bool
	}{
		{name: "no such sign-in", signIns: []tenant.SignIn{plain}, calls: []string{},
			reasons: map[tenant.Source]string{tenant.SourceCAPolicies: "not read by TestRound", tenant.SourceCAGroupMembers: "not read by TestRound"}},
		{name: "failures without a success", signIns: []tenant.SignIn{plain}, failures: sprayed, calls: []string{"organization"},
			reasons: map[tenant.Source]string{tenant.SourceCAPolicies: "not read by TestRound", tenant.SourceCAGroupMembers: "not read by TestRound"}},
		{name: "device code", signIns: []tenant.SignIn{plain, code}, calls: append(append([]string{"caPolicies"}, members...), "namedLocations"), read: true},
		{name: "spray success", signIns: []tenant.SignIn{sprayWin}, failures: sprayed,
			calls: append([]string{"organization", "usersById+signInActivity", "caPolicies"}, members...), read: true},
		{name: "policies denied", signIns: []tenant.SignIn{code}, denied: []string{"caPolicies"}, calls: []string{"caPolicies", "namedLocations"},
			reasons: map[tenant.Source]string{tenant.SourceCAPolicies: denied, tenant.SourceCAGroupMembers: "needs the Conditional Access policies, which were unavailable"}},
		{name: "members denied", signIns: []tenant.SignIn{code}, denied: []string{"groupUserMembers " + gExcl}, calls: []string{"caPolicies", "groupUserMembers " + gExcl, "namedLocations"},
			reasons: map[tenant.Source]string{tenant.SourceCAGroupMembers: "GET /groupUserMembers " + gExcl + ": 403 Authorization_RequestDenied: Insufficient privileges: access denied"}},
		{name: "policies failing", signIns: []tenant.SignIn{code}, failing: []string{"caPolicies"}, calls: []string{"caPolicies"}, fails: true},
		{name: "members failing", signIns: []tenant.SignIn{code}, failing: []string{"groupUserMembers " + gMFA}, calls: append([]string{"caPolicies"}, members...), fails: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &sprayReader{signIns: tc.signIns, roundReader: roundReader{denied: make(map[string]bool), failing: make(map[string]error)}}
			for _, d := range tc.denied {
				f.denied[d] = true
			}
			for _, d := range tc.failing {
				f.failing[d] = errBroken
			}
			clock := now
			r := collect.NewRounds(f, stored{failures: tc.failures}, &collect.RoundsOptions{Now: func() time.Time { return clock }})
			u, err := r.SignIns(t.Context(), window)
			if diff := cmp.Diff(tc.calls, f.calls, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("reads (-want +got):\n%s", diff)
			}
			if tc.fails {
				if !errors.Is(err, errBroken) {
					t.Errorf("round error %v, want the read's failure", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := u.Snapshot
			got := map[tenant.Source]string{}
			for _, src := range []tenant.Source{tenant.SourceCAPolicies, tenant.SourceCAGroupMembers} {
				if r, ok := s.Unavailable[src]; ok {
					got[src] = r
				}
			}
			if diff := cmp.Diff(tc.reasons, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("unavailable (-want +got):\n%s", diff)
			}
			if tc.read {
				if len(s.Policies) != 3 {
					t.Errorf("policies %+v, want the tenant's three", s.Policies)
				}
				want := map[string][]string{gExcl: {"u3"}, gMFA: {"u3"}}
				if diff := cmp.Diff(want, s.GroupMembers); diff != "" {
					t.Errorf("group members (-want +got):\n%s", diff)
				}
			} else if len(s.GroupMembers) > 0 {
				t.Errorf("group members %v kept, want none", s.GroupMembers)
			}
			// Within the hour the cached reads (and cached denials) serve
			// the next round.
			f.calls = nil
			clock = now.Add(59 * time.Minute)
			if _, err := r.SignIns(t.Context(), window); err != nil {
				t.Fatal(err)
			}
			for _, c := range f.calls {
				if c == "caPolicies" || strings.HasPrefix(c, "groupUserMembers") {
					t.Errorf("second round within the hour read %s again (reads %v)", c, f.calls)
				}
			}
			// An hour on, they are read again.
			if tc.read {
				f.calls = nil
				clock = now.Add(time.Hour)
				if _, err := r.SignIns(t.Context(), window); err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(f.calls, "caPolicies") || !slices.Contains(f.calls, "groupUserMembers "+gMFA) {
					t.Errorf("round an hour on read %v, want the policies and members again", f.calls)
				}
			}
		})
	}
}

// auditReader serves a directory round's audit events (and the reads of
// the sign-in round of sprayReader).
type auditReader struct {
	sprayReader
	events []tenant.AuditEvent
}

func (f *auditReader) DirectoryAudits(_ context.Context, _ time.Time, fn func(tenant.AuditEvent) error) error {
	return each(f.events, fn)
}

// TestSignInsRoundPostureChanged: within the hour, the cached Conditional
// Access posture is read again when a directory round's audit log shows it
// changed: a policy added, updated or deleted (the policies; the members
// too only when the policies name other groups), or a member added to or
// removed from a group the policies name (the members). A membership
// change of another group reads nothing.
func TestSignInsRoundPostureChanged(t *testing.T) {
	t.Parallel()
	code := tenant.SignIn{ID: "c", UserID: "u3", Time: now.Add(-time.Minute), AuthProtocol: "deviceCode"}
	other := "0000000b-0000-0000-0000-000000000009"
	tests := []struct {
		name  string
		event tenant.AuditEvent
		calls []string // the posture reads of the next sign-in round
	}{
		{name: "policy updated", event: tenant.AuditEvent{ID: "e-p", Activity: "Update conditional access policy", Targets: []tenant.Target{{ID: "p-code", Type: "Policy"}}},
			calls: []string{"caPolicies"}},
		{name: "member added to a named group", event: tenant.AuditEvent{ID: "e-m", Activity: "Add member to group", Targets: []tenant.Target{{ID: "u9", Type: "User"}, {ID: strings.ToUpper(gMFA), Type: "Group"}}},
			calls: []string{"groupUserMembers " + gExcl, "groupUserMembers " + gMFA}},
		{name: "member removed from another group", event: tenant.AuditEvent{ID: "e-o", Activity: "Remove member from group", Targets: []tenant.Target{{ID: "u9", Type: "User"}, {ID: other, Type: "Group"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := now
			f := &auditReader{sprayReader: sprayReader{signIns: []tenant.SignIn{code}, roundReader: roundReader{denied: map[string]bool{}, failing: map[string]error{}}}}
			r := collect.NewRounds(f, stored{}, &collect.RoundsOptions{Now: func() time.Time { return clock }})
			if _, err := r.SignIns(t.Context(), window); err != nil {
				t.Fatal(err)
			}
			clock = now.Add(10 * time.Minute)
			tc.event.Time, tc.event.Result = clock, "success"
			f.events = []tenant.AuditEvent{tc.event}
			if _, err := r.Directory(t.Context(), collect.DirectoryFrom{ServicePrincipals: "sp", Applications: "app"}, window); err != nil {
				t.Fatal(err)
			}
			f.calls = nil
			clock = now.Add(20 * time.Minute)
			if _, err := r.SignIns(t.Context(), window); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range f.calls {
				if c == "caPolicies" || strings.HasPrefix(c, "groupUserMembers") {
					got = append(got, c)
				}
			}
			if diff := cmp.Diff(tc.calls, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("posture reads of the next sign-in round (-want +got):\n%s", diff)
			}
		})
	}
}
