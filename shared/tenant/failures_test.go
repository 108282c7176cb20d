package tenant_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestSignInFailures(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 10, 3, 0, 0, time.UTC)
	fail := func(user, ip string, code int, at time.Duration, client string) tenant.SignIn {
		return tenant.SignIn{UserID: user, UPN: user + "@contoso.example", IP: ip, ErrorCode: code, Time: t0.Add(at), ClientApp: client}
	}
	var f tenant.SignInFailures
	for _, s := range []tenant.SignIn{
		fail("U1", "203.0.113.7", 50126, 0, "IMAP4"),
		fail("u2", "203.0.113.7", 50053, time.Minute, "Browser"),
		fail("u1", "::ffff:203.0.113.7", 50126, 2*time.Minute, "imap4"), // same account, same address: one member
		fail("u1", "203.0.113.9", 50126, 8*time.Minute, "POP3"),         // next bucket
		fail("u3", "203.0.113.7", 0, 0, ""),                             // success: not counted
		fail("u3", "203.0.113.7", 50076, 0, ""),                         // MFA required: not a spray code
		fail("u3", "not-an-ip", 50126, 0, ""),
	} {
		f.Add(s)
	}
	type row struct {
		Kind    tenant.FailureKind
		Key     string
		Bucket  string
		Count   int
		Members []string
		Legacy  map[string]int
	}
	var got []row
	for _, t := range f.Tallies() {
		got = append(got, row{t.Kind, t.Key, t.Bucket.Format("15:04"), t.Count, t.Members, t.Legacy})
	}
	want := []row{
		{tenant.FailureByAccount, "u1", "10:00", 2, []string{"203.0.113.7"}, map[string]int{"IMAP4": 1, "imap4": 1}},
		{tenant.FailureByAccount, "u1", "10:10", 1, []string{"203.0.113.9"}, map[string]int{"POP3": 1}},
		{tenant.FailureByAccount, "u2", "10:00", 1, []string{"203.0.113.7"}, nil},
		{tenant.FailureByIP, "203.0.113.7", "10:00", 3, []string{"u1", "u2"}, map[string]int{"IMAP4": 1, "imap4": 1}},
		{tenant.FailureByIP, "203.0.113.9", "10:10", 1, []string{"u1"}, map[string]int{"POP3": 1}},
		{tenant.FailureByNet, "203.0.113.0/24", "10:00", 3, []string{"u1", "u2"}, map[string]int{"IMAP4": 1, "imap4": 1}},
		{tenant.FailureByNet, "203.0.113.0/24", "10:10", 1, []string{"u1"}, map[string]int{"POP3": 1}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tallies (-want +got):\n%s", d)
	}

	// Merging the stored tallies back gives the same aggregate, twice the counts.
	var g tenant.SignInFailures
	for _, t := range f.Tallies() {
		g.Merge(t)
		g.Merge(t)
	}
	for i, tl := range g.Tallies() {
		if tl.Count != 2*want[i].Count || !cmp.Equal(tl.Members, want[i].Members) {
			t.Errorf("merged tally %s %s: count %d members %v; want %d, %v", tl.Kind, tl.Key, tl.Count, tl.Members, 2*want[i].Count, want[i].Members)
		}
	}
	g.Prune(t0.Truncate(tenant.FailureBucketWidth).Add(tenant.FailureBucketWidth))
	if n := g.Len(); n != 3 {
		t.Errorf("after Prune: %d tallies, want the 3 of the later bucket", n)
	}
}

func TestSignInFailuresCap(t *testing.T) {
	t.Parallel()
	var f tenant.SignInFailures
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	n := tenant.FailureMembersMax + 5
	for i := range n {
		f.Add(tenant.SignIn{UserID: fmt.Sprintf("user%03d", i), IP: "198.51.100.1", ErrorCode: 50126, Time: at})
	}
	for _, tl := range f.Tallies() {
		if tl.Kind != tenant.FailureByIP {
			continue
		}
		if len(tl.Members) != tenant.FailureMembersMax || tl.Dropped != 5 || tl.Count != n {
			t.Errorf("ip tally: %d members, %d dropped, count %d; want %d, 5, %d", len(tl.Members), tl.Dropped, tl.Count, tenant.FailureMembersMax, n)
		}
	}
}

func TestFailureNetwork(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.77":        "203.0.113.0/24",
		"::ffff:203.0.113.77": "203.0.113.0/24",
		"2001:db8:1:2::5":     "2001:db8:1::/48",
		"fe80::1%eth0":        "fe80::/48",
		"nope":                "",
		"":                    "",
	} {
		if got := tenant.FailureNetwork(in); got != want {
			t.Errorf("FailureNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}
