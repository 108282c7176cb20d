package collect_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestPlanSignInActivity(t *testing.T) {
	tests := []struct {
		needed, users int
		chosen        string
		requests      int
	}{
		{0, 100000, "probe", 1},
		{1, 100000, "byId", 1},
		{15, 20, "byId", 1},
		{16, 20, "all", 1}, // two requests by id, one page of every user
		{16, 100000, "byId", 2},
		{1000, 100000, "byId", 67},   // 67 by id, 200 pages
		{3000, 100000, "byId", 200},  // a tie goes to the read by id
		{3001, 100000, "all", 200},   // 201 by id
		{40000, 100000, "all", 200},  // most users without MFA
		{5, 0, "byId", 1},            // the users could not be read
		{100000, 100000, "all", 200}, // every user
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d of %d", tc.needed, tc.users), func(t *testing.T) {
			p := collect.PlanSignInActivity(tc.needed, tc.users)
			if p.Chosen != tc.chosen || p.Requests() != tc.requests {
				t.Errorf("plan %+v: chose %s for %d requests, want %s for %d", p, p.Chosen, p.Requests(), tc.chosen, tc.requests)
			}
			if p.Requests() > p.ByID && tc.needed > 0 || p.Requests() > p.All {
				t.Errorf("plan %+v is not the cheaper read", p)
			}
		})
	}
}

// TestSnapshotSignInActivityForRuleSubjects: users are read without
// signInActivity; it is read afterwards, by id, for the users whose row
// says MFA is not registered (matched by id or by UPN) and for those that
// security-info registrations name, and filled in for them alone.
func TestSnapshotSignInActivityForRuleSubjects(t *testing.T) {
	f := newFake()
	f.users = []tenant.User{{ID: "u1"}, {ID: "u2"}, {ID: "u3", UPN: "Nora@Example.org"}, {ID: "u4"}, {ID: "u5"}, {ID: "u6"}}
	f.regs = []tenant.Registration{
		{UserID: "U1"},                             // no MFA: by id (any case)
		{UserID: "u2", IsMfaRegistered: true},      // registered: not needed
		{UserID: "stale", UPN: "nora@example.org"}, // no MFA, matched to u3 by UPN
	}
	f.audits = []tenant.AuditEvent{
		{ID: "a1", Time: now.Add(-time.Hour), Activity: "User registered  security info", Result: "success",
			Initiator: tenant.Actor{UserID: "u5"}, Targets: []tenant.Target{{ID: "u4", Type: "User"}}},
		{ID: "a2", Time: now.Add(-time.Hour), Activity: "Update user", Result: "success",
			Initiator: tenant.Actor{UserID: "u6"}, Targets: []tenant.Target{{ID: "u6", Type: "User"}}},
	}
	at := now.Add(-200 * 24 * time.Hour)
	f.activity = map[string]time.Time{"u1": at, "u2": at, "u3": at, "u5": at, "u6": at} // u4 never signed in
	s := snapshot(t, f)
	if !s.Available(tenant.SourceSignInActivity) {
		t.Fatalf("signInActivity unavailable: %v", s.Unavailable)
	}
	if diff := cmp.Diff([][]string{{"stale", "u1", "u3", "u4", "u5"}}, f.byIDArg); diff != "" {
		t.Errorf("signInActivity read by id for (-want +got):\n%s", diff)
	}
	if slices.Contains(f.calls, "users+signInActivity") || f.pages != 0 {
		t.Errorf("users were read with signInActivity: calls %v, %d pages of every user's", f.calls, f.pages)
	}
	got := map[string]time.Time{}
	for _, u := range s.Users {
		got[u.ID] = u.LastSuccessfulSignIn
	}
	want := map[string]time.Time{"u1": at, "u2": {}, "u3": at, "u4": {}, "u5": at, "u6": {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LastSuccessfulSignIn (-want +got):\n%s", diff)
	}
}

// TestSnapshotSignInActivityEveryUser: when most users need it, one read
// of every user's signInActivity costs fewer requests than reading them
// 15 at a time.
func TestSnapshotSignInActivityEveryUser(t *testing.T) {
	f := newFake()
	f.users, f.regs, f.activity = nil, nil, map[string]time.Time{}
	for i := range 100 {
		id := fmt.Sprintf("u%03d", i)
		f.users = append(f.users, tenant.User{ID: id})
		f.regs = append(f.regs, tenant.Registration{UserID: id, IsMfaRegistered: i >= 40})
		f.activity[id] = now.Add(-time.Duration(i) * time.Hour)
	}
	s := snapshot(t, f)
	if len(f.byIDArg) != 0 || f.pages != 1 {
		t.Errorf("40 of 100 users needed: %d reads by id, %d pages of every user; want none and 1", len(f.byIDArg), f.pages)
	}
	for i, u := range s.Users {
		want := time.Time{}
		if i < 40 {
			want = f.activity[u.ID]
		}
		if !u.LastSuccessfulSignIn.Equal(want) {
			t.Errorf("%s: LastSuccessfulSignIn %v, want %v", u.ID, u.LastSuccessfulSignIn, want)
		}
	}
}

// TestSnapshotSignInActivityProbe: with no user to read it for, one page
// still tells whether signInActivity is readable, so that the rules that
// list it as a source are skipped exactly when they were before.
func TestSnapshotSignInActivityProbe(t *testing.T) {
	for _, denied := range []bool{false, true} {
		t.Run(fmt.Sprint("denied=", denied), func(t *testing.T) {
			f := newFake()
			f.regs = []tenant.Registration{{UserID: "u1", IsMfaRegistered: true}}
			if denied {
				f.denied = map[tenant.Source]bool{tenant.SourceSignInActivity: true}
			}
			s := snapshot(t, f)
			if got := s.Available(tenant.SourceSignInActivity); got == denied {
				t.Errorf("signInActivity available = %v: %v", got, s.Unavailable)
			}
			if denied && !strings.Contains(s.Unavailable[tenant.SourceSignInActivity], "403") {
				t.Errorf("reason %q", s.Unavailable[tenant.SourceSignInActivity])
			}
			if n := strings.Count(strings.Join(f.calls, " "), "signInActivity"); n != 1 || len(f.byIDArg) != 0 {
				t.Errorf("calls %v: want one read of the first page", f.calls)
			}
		})
	}
}

// TestSnapshotSignInActivityRuleCandidates: signInActivity is also read
// for the users posture.dormant-excluded-from-mfa judges (enabled members
// no enabled MFA policy applies to, directly or through a group) and for
// the accounts signin.password-spray may find broken into (a success from
// an address, or a /24, the account failed from), and every user it was
// read for is marked SignInActivityRead — a zero time then means never.
// Without the Conditional Access policies, the exclusion candidates are
// not read (the rule is skipped); the spray's still are.
func TestSnapshotSignInActivityRuleCandidates(t *testing.T) {
	const excl = "aaaaaaaa-0000-0000-0000-000000000011"
	member := func(id string) tenant.User {
		return tenant.User{ID: id, UPN: id + "@example.org", UserType: "Member", AccountEnabled: true}
	}
	fail := func(id, upn, ip string) tenant.SignIn {
		return tenant.SignIn{ID: "f-" + id + ip, Time: now.Add(-2 * time.Hour), UserID: id, UPN: upn, IP: ip, ErrorCode: 50126}
	}
	ok := func(id, upn, ip string) tenant.SignIn {
		return tenant.SignIn{ID: "s-" + id + ip, Time: now.Add(-time.Hour), UserID: id, UPN: upn, IP: ip}
	}
	setup := func() *fakeReader {
		f := newFake()
		guest, off := member("guest"), member("off")
		guest.UserType, off.AccountEnabled = "Guest", false
		f.users = []tenant.User{member("never"), member("old"), member("covered"), guest, off, member("unreg"),
			member("sprayed"), member("netspray"), member("elsewhere"), member("byupn")}
		f.regs = nil
		for _, u := range f.users {
			f.regs = append(f.regs, tenant.Registration{UserID: u.ID, IsMfaRegistered: u.ID != "unreg"})
		}
		f.policies = []tenant.CAPolicy{
			{ID: "mfa", State: "enabled", IncludeUsers: []string{"All"}, ExcludeUsers: []string{"OLD"},
				ExcludeGroups: []string{excl}, BuiltInControls: []string{"mfa"}},
			{ID: "report-only", State: "enabledForReportingButNotEnforced", IncludeUsers: []string{"All"}, BuiltInControls: []string{"mfa"}},
		}
		f.members = map[string][]string{excl: {"NEVER", "guest", "off"}}
		f.signIns = []tenant.SignIn{
			fail("sprayed", "", "198.51.100.7"), ok("sprayed", "", "198.51.100.7"),
			fail("netspray", "", "198.51.100.8"), ok("netspray", "", "198.51.100.9"),
			fail("elsewhere", "", "198.51.100.10"), ok("elsewhere", "", "203.0.113.5"),
			fail("", "ByUPN@example.org", "198.51.100.11"), ok("", "byupn@example.org", "::ffff:198.51.100.11"),
			ok("covered", "", "198.51.100.7"), // never failed
		}
		f.activity = map[string]time.Time{"old": now.Add(-200 * 24 * time.Hour), "sprayed": now.Add(-time.Hour)}
		return f
	}
	tests := []struct {
		name   string
		denyCA bool
		want   []string
	}{
		{"policies read", false, []string{"byupn", "netspray", "never", "old", "sprayed", "unreg"}},
		{"policies denied", true, []string{"byupn", "netspray", "sprayed", "unreg"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup()
			if tc.denyCA {
				f.denied = map[tenant.Source]bool{tenant.SourceCAPolicies: true}
			}
			s := snapshot(t, f)
			if !s.Available(tenant.SourceSignInActivity) || s.Available(tenant.SourceCAGroupMembers) == tc.denyCA {
				t.Fatalf("unavailable: %v", s.Unavailable)
			}
			if diff := cmp.Diff([][]string{tc.want}, f.byIDArg); diff != "" {
				t.Errorf("signInActivity read by id for (-want +got):\n%s", diff)
			}
			var read []string
			for _, u := range s.Users {
				if u.SignInActivityRead {
					read = append(read, u.ID)
				}
				if want := f.activity[u.ID]; u.SignInActivityRead && !u.LastSuccessfulSignIn.Equal(want) {
					t.Errorf("%s: LastSuccessfulSignIn %v, want %v", u.ID, u.LastSuccessfulSignIn, want)
				}
			}
			slices.Sort(read)
			if diff := cmp.Diff(tc.want, read); diff != "" {
				t.Errorf("users marked SignInActivityRead (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSnapshotSignInActivityReadEveryUser: when the whole-tenant read is
// the cheaper one, the users it was needed for are marked read and filled
// in, the others left as the read by id would leave them.
func TestSnapshotSignInActivityReadEveryUser(t *testing.T) {
	f := newFake()
	f.users, f.regs, f.activity = nil, nil, map[string]time.Time{}
	f.policies = []tenant.CAPolicy{{ID: "mfa", State: "enabled", IncludeUsers: []string{"All"}, BuiltInControls: []string{"mfa"},
		ExcludeGroups: []string{"aaaaaaaa-0000-0000-0000-000000000011"}}}
	f.members = map[string][]string{"aaaaaaaa-0000-0000-0000-000000000011": nil}
	for i := range 20 {
		id := fmt.Sprintf("u%02d", i)
		f.users = append(f.users, tenant.User{ID: id, UserType: "Member", AccountEnabled: true})
		f.regs = append(f.regs, tenant.Registration{UserID: id, IsMfaRegistered: true})
		if i < 16 {
			f.members["aaaaaaaa-0000-0000-0000-000000000011"] = append(f.members["aaaaaaaa-0000-0000-0000-000000000011"], id)
		}
		if i%2 == 0 {
			f.activity[id] = now.Add(-time.Duration(i+1) * time.Hour)
		}
	}
	s := snapshot(t, f)
	if len(f.byIDArg) != 0 || f.pages != 1 {
		t.Fatalf("16 of 20 users needed: %d reads by id, %d pages of every user; want none and 1", len(f.byIDArg), f.pages)
	}
	for i, u := range s.Users {
		needed := i < 16
		want := time.Time{}
		if needed {
			want = f.activity[u.ID]
		}
		if u.SignInActivityRead != needed || !u.LastSuccessfulSignIn.Equal(want) {
			t.Errorf("%s: read %v, last %v; want %v, %v", u.ID, u.SignInActivityRead, u.LastSuccessfulSignIn, needed, want)
		}
	}
}

// TestDirectoryRoundSignInActivityRead: the deployed app's directory round
// reads the users its audit events name with their signInActivity and
// marks them read; when signInActivity is denied and they are read
// without it, they are not (a zero last sign-in is then unknown).
func TestDirectoryRoundSignInActivityRead(t *testing.T) {
	t.Parallel()
	for _, denied := range []bool{false, true} {
		t.Run(fmt.Sprint("denied=", denied), func(t *testing.T) {
			f := &roundReader{denied: map[string]bool{"usersById+signInActivity": denied}}
			r := collect.NewRounds(f, stored{}, &collect.RoundsOptions{Now: func() time.Time { return now }})
			u, err := r.Directory(t.Context(), collect.DirectoryFrom{ServicePrincipals: "sp", Applications: "app"}, window)
			if err != nil {
				t.Fatal(err)
			}
			s := u.Snapshot
			if len(s.Users) == 0 || s.Available(tenant.SourceSignInActivity) == denied {
				t.Fatalf("%d users, unavailable %v", len(s.Users), s.Unavailable)
			}
			for _, u := range s.Users {
				if u.SignInActivityRead == denied {
					t.Errorf("%s: SignInActivityRead = %v with signInActivity denied = %v", u.ID, u.SignInActivityRead, denied)
				}
			}
		})
	}
}
