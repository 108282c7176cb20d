package collect_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestSnapshotMidnightSources: the sources of the 2023–2025 rules are read
// and filtered as the rules need: successes kept and spray failures
// aggregated (no failed row kept), delegated grants with a mail scope
// only, the members of the groups enabled CA policies name only, the
// federated credentials of the mail-capable apps only.
func TestSnapshotMidnightSources(t *testing.T) {
	f := newFake()
	s := snapshot(t, f)
	if len(s.Unavailable) != 0 {
		t.Fatalf("Unavailable = %v, want none", s.Unavailable)
	}
	if !slices.Contains(f.calls, "signInsBeta") || slices.Contains(f.calls, "signIns") {
		t.Errorf("calls %v: want the beta sign-in read only", f.calls)
	}
	var ids []string
	for _, si := range s.SignIns {
		ids = append(ids, si.ID)
	}
	if diff := cmp.Diff([]string{"ok"}, ids); diff != "" {
		t.Errorf("kept sign-ins (-want +got):\n%s", diff)
	}
	if s.SignInFailures == nil || s.SignInFailures.Len() == 0 {
		t.Fatalf("SignInFailures = %v, want the 50126 failure counted", s.SignInFailures)
	}
	for _, tl := range s.SignInFailures.Tallies() {
		if tl.Count != 1 {
			t.Errorf("tally %+v: want the one spray failure (50079 is not one)", tl)
		}
	}
	var grants []string
	for _, g := range s.DelegatedGrants {
		grants = append(grants, g.ID)
	}
	if diff := cmp.Diff([]string{"mail"}, grants); diff != "" {
		t.Errorf("delegated grants (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002", "aaaaaaaa-0000-0000-0000-000000000005"}, f.membersArg); diff != "" {
		t.Errorf("groups read (-want +got):\n%s", diff)
	}
	wantMembers := map[string][]string{
		"aaaaaaaa-0000-0000-0000-000000000001": {"u1"},
		"aaaaaaaa-0000-0000-0000-000000000002": {},
	}
	if diff := cmp.Diff(wantMembers, s.GroupMembers); diff != "" {
		t.Errorf("group members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"lob-app", "consented-app"}, f.ficsArg); diff != "" {
		t.Errorf("federated credentials read for (-want +got):\n%s", diff)
	}
	for _, a := range s.Applications {
		if got, want := len(a.FederatedCredentials), map[string]int{"lob-app": 1}[a.ID]; got != want {
			t.Errorf("%s: %d federated credentials, want %d", a.ID, got, want)
		}
	}
	if len(s.Devices) != 1 || len(s.Domains) != 1 || s.AuthorizationPolicy == nil || !s.AuthorizationPolicy.AllowedToCreateApps {
		t.Errorf("devices %v, domains %v, authorization policy %v", s.Devices, s.Domains, s.AuthorizationPolicy)
	}
}

// TestSnapshotBetaFallback: when the beta read cannot be used, the v1.0
// read runs, SourceSignIns is read from it and SourceSignInsBeta is
// unavailable with the reason; nothing the beta read gave is kept twice.
func TestSnapshotBetaFallback(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *fakeReader)
		reason     string // in SourceSignInsBeta's reason
		signInsOut bool   // SourceSignIns unavailable too
	}{
		{"beta switched off", func(f *fakeReader) { f.noBeta = true }, tenant.BetaDisabledReason, false},
		{"beta denied", func(f *fakeReader) { f.denied = map[tenant.Source]bool{tenant.SourceSignInsBeta: true} }, "403", false},
		{"beta fails otherwise", func(f *fakeReader) {
			f.failing = map[tenant.Source]error{tenant.SourceSignInsBeta: errors.New("graph: GET /beta/auditLogs/signIns: 400 BadRequest: Invalid filter clause")}
		}, "the beta sign-in log failed (GET /beta/auditLogs/signIns: 400 BadRequest: Invalid filter clause); the v1.0 log was read instead", false},
		{"both denied", func(f *fakeReader) {
			f.denied = map[tenant.Source]bool{tenant.SourceSignInsBeta: true, tenant.SourceSignIns: true}
		}, "403", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			tc.setup(f)
			s := snapshot(t, f)
			if got := s.Unavailable[tenant.SourceSignInsBeta]; !strings.Contains(got, tc.reason) {
				t.Errorf("signInsBeta reason = %q, want it to contain %q", got, tc.reason)
			}
			if tc.name == "beta switched off" && s.Unavailable[tenant.SourceSignInsBeta] != tenant.BetaDisabledReason {
				t.Errorf("signInsBeta reason = %q, want exactly %q", s.Unavailable[tenant.SourceSignInsBeta], tenant.BetaDisabledReason)
			}
			if !slices.Contains(f.calls, "signIns") {
				t.Errorf("calls %v: the v1.0 sign-in log was not read", f.calls)
			}
			if got := !s.Available(tenant.SourceSignIns); got != tc.signInsOut {
				t.Fatalf("signIns unavailable = %v (%q), want %v", got, s.Unavailable[tenant.SourceSignIns], tc.signInsOut)
			}
			if tc.signInsOut {
				if len(s.SignIns) != 0 || s.SignInFailures != nil {
					t.Errorf("signIns unavailable, yet %d kept and failures %v", len(s.SignIns), s.SignInFailures)
				}
				return
			}
			if len(s.SignIns) != 1 || s.SignInFailures == nil || len(s.SignInFailures.Tallies()) != 3 {
				t.Errorf("kept %d sign-ins, failures %v; want 1 and the one failure under 3 keys", len(s.SignIns), s.SignInFailures)
			}
			for _, tl := range s.SignInFailures.Tallies() {
				if tl.Count != 1 {
					t.Errorf("tally %+v counted twice", tl)
				}
			}
		})
	}
}

// TestSnapshotBetaCancelled: the end of the scan during the beta read is
// not a fallback: the scan fails naming the source.
func TestSnapshotBetaCancelled(t *testing.T) {
	f := newFake()
	f.failing = map[tenant.Source]error{tenant.SourceSignInsBeta: fmt.Errorf("graph: GET /beta/auditLogs/signIns: %w", errors.New("context canceled"))}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := collect.Snapshot(ctx, f, &collect.SnapshotOptions{Now: func() time.Time { return now }})
	if err == nil {
		t.Fatal("Snapshot succeeded on a cancelled context")
	}
	if slices.Contains(f.calls, "signIns") {
		t.Errorf("calls %v: the v1.0 read ran after the scan ended", f.calls)
	}
}
