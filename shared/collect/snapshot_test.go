package collect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// fakeReader serves fixed data; denied sources answer an error wrapping
// tenant.ErrAccessDenied, failing ones another error.
type fakeReader struct {
	mu       sync.Mutex
	denied   map[tenant.Source]bool
	failing  map[tenant.Source]error
	calls    []string
	users    []tenant.User
	sps      []tenant.ServicePrincipal
	grants   map[string][]tenant.AppRoleAssignment // by resource SP id
	audits   []tenant.AuditEvent
	signIns  []tenant.SignIn
	sinceArg []time.Time
	regs     []tenant.Registration
	activity map[string]time.Time // last successful sign-in by user id; absent: never
	byIDArg  [][]string           // the ids of each SignInActivityByID call
	pages    int                  // SignInActivity pages served (500 users each)
	// The sources of the 2023–2025 rules.
	noBeta     bool                                    // SignInsBeta: beta switched off
	apps       []tenant.Application                    //
	devices    []tenant.Device                         //
	domains    []tenant.Domain                         //
	delegated  []tenant.DelegatedGrant                 //
	policies   []tenant.CAPolicy                       // nil: one policy "p"
	members    map[string][]string                     // by group id
	fics       map[string][]tenant.FederatedCredential // by application object id
	membersArg []string                                // the groups GroupUserMembers was asked for
	ficsArg    []string                                // the applications FederatedCredentials was asked for
}

func (f *fakeReader) check(src tenant.Source, call string) error {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if err := f.failing[src]; err != nil {
		return err
	}
	if f.denied[src] {
		return fmt.Errorf("graph: GET /%s: 403 Authorization_RequestDenied: Insufficient privileges: %w", src, tenant.ErrAccessDenied)
	}
	return nil
}

func each[T any](items []T, fn func(T) error) error {
	for _, it := range items {
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeReader) Organization(context.Context) (tenant.Organization, error) {
	if err := f.check(tenant.SourceOrganization, "organization"); err != nil {
		return tenant.Organization{}, err
	}
	return tenant.Organization{ID: "tid", DisplayName: "Contoso"}, nil
}
func (f *fakeReader) SubscribedSKUs(context.Context) ([]tenant.SKU, error) {
	return []tenant.SKU{{SkuID: "sku"}}, f.check(tenant.SourceSubscribedSkus, "subscribedSkus")
}
func (f *fakeReader) Users(_ context.Context, withSignIn bool, fn func(tenant.User) error) error {
	if withSignIn {
		if err := f.check(tenant.SourceSignInActivity, "users+signInActivity"); err != nil {
			return err
		}
	} else if err := f.check(tenant.SourceUsers, "users"); err != nil {
		return err
	}
	return each(f.users, fn)
}
func (f *fakeReader) Registrations(_ context.Context, fn func(tenant.Registration) error) error {
	if err := f.check(tenant.SourceRegistrations, "registrations"); err != nil {
		return err
	}
	if f.regs != nil {
		return each(f.regs, fn)
	}
	// u1 has no MFA; u2's row is dropped: no rule reads registered users.
	return each([]tenant.Registration{{UserID: "u1"}, {UserID: "u2", IsMfaRegistered: true}}, fn)
}
func (f *fakeReader) SignInActivity(_ context.Context, fn func(tenant.SignInActivity) error) error {
	if err := f.check(tenant.SourceSignInActivity, "signInActivity"); err != nil {
		return err
	}
	for i, u := range f.users {
		if i%500 == 0 {
			f.mu.Lock()
			f.pages++
			f.mu.Unlock()
		}
		if err := fn(tenant.SignInActivity{UserID: u.ID, LastSuccessfulSignIn: f.activity[u.ID]}); err != nil {
			return err
		}
	}
	return nil
}
func (f *fakeReader) SignInActivityByID(_ context.Context, ids []string, fn func(tenant.SignInActivity) error) error {
	f.mu.Lock()
	f.byIDArg = append(f.byIDArg, slices.Sorted(slices.Values(ids)))
	f.mu.Unlock()
	if err := f.check(tenant.SourceSignInActivity, "signInActivityByID"); err != nil {
		return err
	}
	for _, u := range f.users {
		if slices.Contains(ids, u.ID) {
			if err := fn(tenant.SignInActivity{UserID: u.ID, LastSuccessfulSignIn: f.activity[u.ID]}); err != nil {
				return err
			}
		}
	}
	return nil
}
func (f *fakeReader) ServicePrincipals(_ context.Context, fn func(tenant.ServicePrincipal) error) error {
	if err := f.check(tenant.SourceServicePrincipals, "servicePrincipals"); err != nil {
		return err
	}
	return each(f.sps, fn)
}
func (f *fakeReader) Applications(_ context.Context, fn func(tenant.Application) error) error {
	if err := f.check(tenant.SourceApplications, "applications"); err != nil {
		return err
	}
	return each(f.apps, fn)
}
func (f *fakeReader) AppRoleAssignedTo(_ context.Context, id string, fn func(tenant.AppRoleAssignment) error) error {
	if err := f.check(tenant.SourceResourceGrants, "appRoleAssignedTo "+id); err != nil {
		return err
	}
	return each(f.grants[id], fn)
}
func (f *fakeReader) DirectoryAudits(_ context.Context, since time.Time, fn func(tenant.AuditEvent) error) error {
	f.mu.Lock()
	f.sinceArg = append(f.sinceArg, since)
	f.mu.Unlock()
	if err := f.check(tenant.SourceDirectoryAudits, "directoryAudits"); err != nil {
		return err
	}
	return each(f.audits, fn)
}
func (f *fakeReader) SignIns(_ context.Context, since time.Time, fn func(tenant.SignIn) error) error {
	if err := f.check(tenant.SourceSignIns, "signIns"); err != nil {
		return err
	}
	return each(f.signIns, fn)
}
func (f *fakeReader) CAPolicies(context.Context) ([]tenant.CAPolicy, error) {
	if f.policies != nil {
		return f.policies, f.check(tenant.SourceCAPolicies, "policies")
	}
	return []tenant.CAPolicy{{ID: "p"}}, f.check(tenant.SourceCAPolicies, "policies")
}
func (f *fakeReader) SignInsBeta(_ context.Context, since time.Time, fn func(tenant.SignIn) error) error {
	if f.noBeta {
		f.check("", "signInsBeta")
		return fmt.Errorf("graph: GET /beta/auditLogs/signIns: %s: %w", tenant.BetaDisabledReason, tenant.ErrBetaDisabled)
	}
	if err := f.check(tenant.SourceSignInsBeta, "signInsBeta"); err != nil {
		return err
	}
	return each(f.signIns, fn)
}
func (f *fakeReader) Devices(_ context.Context, fn func(tenant.Device) error) error {
	if err := f.check(tenant.SourceDevices, "devices"); err != nil {
		return err
	}
	return each(f.devices, fn)
}
func (f *fakeReader) Domains(context.Context) ([]tenant.Domain, error) {
	return f.domains, f.check(tenant.SourceDomains, "domains")
}
func (f *fakeReader) AuthorizationPolicy(context.Context) (*tenant.AuthorizationPolicy, error) {
	if err := f.check(tenant.SourceAuthorizationPolicy, "authorizationPolicy"); err != nil {
		return nil, err
	}
	return &tenant.AuthorizationPolicy{AllowedToCreateApps: true}, nil
}
func (f *fakeReader) DelegatedGrants(_ context.Context, fn func(tenant.DelegatedGrant) error) error {
	if err := f.check(tenant.SourceDelegatedGrants, "oauth2PermissionGrants"); err != nil {
		return err
	}
	return each(f.delegated, fn)
}
func (f *fakeReader) GroupUserMembers(_ context.Context, groupID string, fn func(string) error) error {
	f.mu.Lock()
	f.membersArg = append(f.membersArg, groupID)
	f.mu.Unlock()
	if err := f.check(tenant.SourceCAGroupMembers, "transitiveMembers "+groupID); err != nil {
		return err
	}
	ms, ok := f.members[groupID]
	if !ok {
		return fmt.Errorf("graph: GET /groups/{id}/transitiveMembers/microsoft.graph.user: 404: %w", tenant.ErrNotFound)
	}
	return each(ms, fn)
}
func (f *fakeReader) FederatedCredentials(_ context.Context, appObjectID string) ([]tenant.FederatedCredential, error) {
	f.mu.Lock()
	f.ficsArg = append(f.ficsArg, appObjectID)
	f.mu.Unlock()
	return f.fics[appObjectID], f.check(tenant.SourceFederatedCredentials, "federatedIdentityCredentials "+appObjectID)
}
func (f *fakeReader) NamedLocations(context.Context) ([]tenant.NamedLocation, error) {
	return nil, f.check(tenant.SourceNamedLocations, "namedLocations")
}

var now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func newFake() *fakeReader {
	return &fakeReader{
		users: []tenant.User{{ID: "u1"}, {ID: "u2"}},
		sps: []tenant.ServicePrincipal{
			{ID: "graph-sp", AppID: tenant.GraphAppID, AppRoles: []tenant.AppRole{{ID: "r1", Value: "Mail.Read"}}},
			{ID: "exo-sp", AppID: strings.ToUpper(tenant.ExchangeOnlineAppID), AppRoles: []tenant.AppRole{{ID: "r2", Value: "full_access_as_app"}}},
			{ID: "lob", AppID: "11111111-1111-1111-1111-111111111111", AppRoles: []tenant.AppRole{{ID: "r3", Value: "Widgets.Read"}}},
			{ID: "consented", AppID: "22222222-2222-2222-2222-222222222222"},
			{ID: "plain", AppID: "33333333-3333-3333-3333-333333333333"},
		},
		grants: map[string][]tenant.AppRoleAssignment{
			"graph-sp": {{ID: "g1", AppRoleID: "r1", PrincipalID: "lob", PrincipalType: "ServicePrincipal", ResourceID: "graph-sp"}},
			"exo-sp":   {{ID: "g2", AppRoleID: "not-a-mail-role", PrincipalID: "plain", PrincipalType: "ServicePrincipal", ResourceID: "exo-sp"}},
		},
		audits: []tenant.AuditEvent{
			{ID: "in", Time: now.Add(-time.Hour)},
			{ID: "old", Time: now.Add(-800 * time.Hour)}, // a server that ignores $filter
		},
		signIns: []tenant.SignIn{
			{ID: "ok", Time: now.Add(-time.Hour)},
			{ID: "failed", Time: now.Add(-time.Hour), ErrorCode: 50126, UserID: "u2", IP: "203.0.113.9", ClientApp: "IMAP4"},
			{ID: "interrupt", Time: now.Add(-time.Hour), ErrorCode: 50079, UserID: "u1", IP: "203.0.113.10"},
		},
		// The 2023–2025 sources. "lob" holds Mail.Read on Graph (g1:
		// appRoleId r1): its application "lob-app" is mail-capable;
		// "consented" holds a delegated grant with a mail scope; "plain"
		// holds neither.
		apps: []tenant.Application{
			{ID: "lob-app", AppID: "11111111-1111-1111-1111-111111111111"},
			{ID: "consented-app", AppID: "22222222-2222-2222-2222-222222222222"},
			{ID: "plain-app", AppID: "33333333-3333-3333-3333-333333333333"},
		},
		devices: []tenant.Device{{ID: "d1", OwnerIDs: []string{"u1"}}},
		domains: []tenant.Domain{{ID: "contoso.com", AuthenticationType: "Managed"}},
		delegated: []tenant.DelegatedGrant{
			{ID: "mail", ClientID: "consented", Scope: "openid offline_access Mail.Read"},
			{ID: "profile", ClientID: "plain", Scope: "openid profile User.Read"},
		},
		policies: []tenant.CAPolicy{
			{ID: "p", State: "enabled", ExcludeGroups: []string{"AAAAAAAA-0000-0000-0000-000000000001"}, IncludeGroups: []string{"aaaaaaaa-0000-0000-0000-000000000002"}},
			{ID: "report-only", State: "enabledForReportingButNotEnforced", ExcludeGroups: []string{"aaaaaaaa-0000-0000-0000-000000000003"}},
			{ID: "off", State: "disabled", ExcludeGroups: []string{"aaaaaaaa-0000-0000-0000-000000000004"}},
			{ID: "gone", State: "enabled", ExcludeGroups: []string{"aaaaaaaa-0000-0000-0000-000000000005", "not a guid"}},
		},
		members: map[string][]string{
			"aaaaaaaa-0000-0000-0000-000000000001": {"U1"},
			"aaaaaaaa-0000-0000-0000-000000000002": {},
			"aaaaaaaa-0000-0000-0000-000000000003": {"u2"},
			"aaaaaaaa-0000-0000-0000-000000000004": {"u2"},
		},
		fics: map[string][]tenant.FederatedCredential{
			"lob-app":   {{ID: "f1", Issuer: "https://token.actions.githubusercontent.com"}},
			"plain-app": {{ID: "f2"}},
		},
	}
}

func snapshot(t *testing.T, f *fakeReader) *tenant.Snapshot {
	t.Helper()
	// A feed with no content: the Exchange source is read, and empty.
	noContent := activityFunc(func(context.Context, string, time.Time, time.Time, func(string, io.Reader) error) error { return nil })
	s, err := collect.Snapshot(t.Context(), f, &collect.SnapshotOptions{Now: func() time.Time { return now }, Activity: noContent})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return s
}

func TestSnapshotReadsEverySource(t *testing.T) {
	f := newFake()
	s := snapshot(t, f)
	if len(s.Unavailable) != 0 {
		t.Errorf("Unavailable = %v, want none", s.Unavailable)
	}
	if want := now.Add(-720 * time.Hour); !s.Since.Equal(want) || !f.sinceArg[0].Equal(want) {
		t.Errorf("Since = %v (reader got %v), want %v", s.Since, f.sinceArg, want)
	}
	if s.Organization.ID != "tid" || len(s.Users) != 2 || len(s.Registrations) != 1 || len(s.Policies) != 4 {
		t.Errorf("snapshot incomplete: %+v", s)
	}
	var ids []string
	for _, a := range s.Audits {
		ids = append(ids, a.ID)
	}
	for _, si := range s.SignIns {
		ids = append(ids, si.ID)
	}
	if diff := cmp.Diff([]string{"in", "ok"}, ids); diff != "" {
		t.Errorf("kept audits and sign-ins (-want +got):\n%s", diff)
	}
	var grants []string
	for _, g := range s.ResourceGrants {
		grants = append(grants, g.ID)
	}
	if diff := cmp.Diff([]string{"g1", "g2"}, grants); diff != "" {
		t.Errorf("resource grants (-want +got):\n%s", diff)
	}
	// Only the two resource SPs keep their app roles.
	for _, sp := range s.ServicePrincipals {
		if got := len(sp.AppRoles) > 0; got != tenant.IsMailResource(sp.AppID) {
			t.Errorf("%s: kept app roles = %v", sp.ID, got)
		}
	}
	appRoleCalls := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, "appRoleAssignedTo") {
			appRoleCalls++
		}
	}
	if appRoleCalls != 2 {
		t.Errorf("appRoleAssignedTo calls = %d, want 2 (Graph and Exchange Online only): %v", appRoleCalls, f.calls)
	}
}

func TestSnapshotAccessDenied(t *testing.T) {
	tests := []struct {
		name        string
		denied      []tenant.Source
		unavailable []tenant.Source
		users       int
	}{
		{"sign-in logs without P1", []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInsBeta}, []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInsBeta}, 2},
		{"signInActivity denied, users read", []tenant.Source{tenant.SourceSignInActivity}, []tenant.Source{tenant.SourceSignInActivity}, 2},
		{"no users at all", []tenant.Source{tenant.SourceSignInActivity, tenant.SourceUsers}, []tenant.Source{tenant.SourceSignInActivity, tenant.SourceUsers}, 0},
		{"service principals denied skips grants", []tenant.Source{tenant.SourceServicePrincipals},
			[]tenant.Source{tenant.SourceResourceGrants, tenant.SourceFederatedCredentials, tenant.SourceServicePrincipals}, 2},
		{"conditional access", []tenant.Source{tenant.SourceCAPolicies, tenant.SourceNamedLocations},
			[]tenant.Source{tenant.SourceCAGroupMembers, tenant.SourceCAPolicies, tenant.SourceNamedLocations}, 2},
		{"delegated grants denied skips federated credentials", []tenant.Source{tenant.SourceDelegatedGrants},
			[]tenant.Source{tenant.SourceFederatedCredentials, tenant.SourceDelegatedGrants}, 2},
		{"the new directory reads", []tenant.Source{tenant.SourceDevices, tenant.SourceDomains, tenant.SourceAuthorizationPolicy, tenant.SourceCAGroupMembers, tenant.SourceFederatedCredentials},
			[]tenant.Source{tenant.SourceAuthorizationPolicy, tenant.SourceCAGroupMembers, tenant.SourceDevices, tenant.SourceDomains, tenant.SourceFederatedCredentials}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.denied = map[tenant.Source]bool{}
			for _, d := range tc.denied {
				f.denied[d] = true
			}
			s := snapshot(t, f)
			var got []tenant.Source
			for src, reason := range s.Unavailable {
				got = append(got, src)
				if !strings.HasPrefix(reason, "needs ") && !strings.Contains(reason, "403") {
					t.Errorf("%s: reason %q does not carry the Graph answer", src, reason)
				}
				if strings.HasPrefix(reason, "graph: ") {
					t.Errorf("%s: reason %q keeps the package prefix", src, reason)
				}
			}
			if diff := cmp.Diff(tc.unavailable, s.MissingSources(got)); diff != "" {
				t.Errorf("unavailable (-want +got):\n%s", diff)
			}
			if len(s.Users) != tc.users {
				t.Errorf("users = %d, want %d (no duplicates after a fallback)", len(s.Users), tc.users)
			}
		})
	}
}

func TestSnapshotFailsOnOtherErrors(t *testing.T) {
	f := newFake()
	boom := fmt.Errorf("graph: cannot reach http://127.0.0.1:1: %w", tenant.ErrUnreachable)
	f.failing = map[tenant.Source]error{tenant.SourceDirectoryAudits: boom}
	_, err := collect.Snapshot(t.Context(), f, &collect.SnapshotOptions{Now: func() time.Time { return now }})
	if !errors.Is(err, tenant.ErrUnreachable) || !strings.Contains(err.Error(), "directoryAudits") {
		t.Fatalf("err = %v, want ErrUnreachable naming the source", err)
	}
}

// blockingPolicies is a reader whose Conditional Access read waits until
// its context ends; it tells on ended whether it was cancelled.
type blockingPolicies struct {
	*fakeReader
	ended chan bool // buffered: one value
}

func (b blockingPolicies) CAPolicies(ctx context.Context) ([]tenant.CAPolicy, error) {
	select {
	case <-ctx.Done():
		b.ended <- true
		return nil, fmt.Errorf("graph: GET /identity/conditionalAccess/policies: %w", context.Cause(ctx))
	case <-time.After(time.Minute): // gives up: the test fails
		b.ended <- false
		return nil, errors.New("the policy read was not cancelled")
	}
}

// TestSnapshotFailureCancelsOtherLanes: a lane's failure ends the reads of
// the other lanes, and Snapshot returns that failure, which names its
// source, not the other lanes' cancellation.
func TestSnapshotFailureCancelsOtherLanes(t *testing.T) {
	f := newFake()
	boom := fmt.Errorf("graph: cannot reach http://127.0.0.1:1: %w", tenant.ErrUnreachable)
	f.failing = map[tenant.Source]error{tenant.SourceDirectoryAudits: boom}
	r := blockingPolicies{f, make(chan bool, 1)}
	_, err := collect.Snapshot(t.Context(), r, &collect.SnapshotOptions{Now: func() time.Time { return now }})
	if !errors.Is(err, tenant.ErrUnreachable) || !strings.Contains(err.Error(), "directoryAudits") {
		t.Errorf("err = %v, want ErrUnreachable naming directoryAudits", err)
	}
	if !<-r.ended {
		t.Error("the failure did not cancel the Conditional Access read")
	}
}

// TestSnapshotCallerCancelled: when the caller's context ends, Snapshot
// fails with an error that names a read it cut.
func TestSnapshotCallerCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("the caller stopped")
	cancel(stop)
	_, err := collect.Snapshot(ctx, blockingPolicies{newFake(), make(chan bool, 1)}, &collect.SnapshotOptions{Now: func() time.Time { return now }})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "collect: read ") {
		t.Fatalf("err = %v, want the caller's cause, naming a source", err)
	}
}

func TestSnapshotProgressEndsEverySource(t *testing.T) {
	f := newFake()
	done := map[tenant.Source]int{}
	_, err := collect.Snapshot(t.Context(), f, &collect.SnapshotOptions{
		Now: func() time.Time { return now },
		Progress: func(src tenant.Source, n int, d bool) {
			if d {
				done[src]++
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []tenant.Source{tenant.SourceOrganization, tenant.SourceSubscribedSkus, tenant.SourceUsers, tenant.SourceSignInActivity,
		tenant.SourceServicePrincipals, tenant.SourceApplications, tenant.SourceResourceGrants, tenant.SourceRegistrations,
		tenant.SourceDirectoryAudits, tenant.SourceSignIns, tenant.SourceCAPolicies, tenant.SourceNamedLocations,
		tenant.SourceSignInsBeta, tenant.SourceDevices, tenant.SourceDelegatedGrants, tenant.SourceAuthorizationPolicy,
		tenant.SourceDomains, tenant.SourceCAGroupMembers, tenant.SourceFederatedCredentials} {
		if done[src] != 1 {
			t.Errorf("%s: done reported %d times, want 1", src, done[src])
		}
	}
}
