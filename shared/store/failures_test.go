package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// failures builds an aggregate of failed sign-ins (50126) at t0+minutes,
// each "account@ip".
func failures(minutes int, pairs ...string) *tenant.SignInFailures {
	var f tenant.SignInFailures
	for i, p := range pairs {
		account, ip, _ := strings.Cut(p, "@")
		f.Add(tenant.SignIn{ID: fmt.Sprint(minutes, "-", i), Time: t0.Add(time.Duration(minutes) * time.Minute), UserID: account,
			UPN: account + "@contoso.example", IP: ip, ErrorCode: 50126, ClientApp: "IMAP4"})
	}
	return &f
}

// tallyOf returns the tally of kind and key in the bucket starting at
// t0+minutes, failing the test when there is none.
func tallyOf(t *testing.T, f *tenant.SignInFailures, kind tenant.FailureKind, key string, minutes int) tenant.FailureTally {
	t.Helper()
	b := t0.Add(time.Duration(minutes) * time.Minute).Truncate(tenant.FailureBucketWidth)
	for _, tl := range f.Tallies() {
		if tl.Kind == kind && tl.Key == key && tl.Bucket.Equal(b) {
			return tl
		}
	}
	t.Fatalf("no %s tally for %s in the bucket of %v", kind, key, b)
	return tenant.FailureTally{}
}

func TestSignInFailuresMerge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)

	// One poll: two accounts fail from one address at 10:01.
	first := failures(1, "u1@203.0.113.7", "u2@203.0.113.7")
	if err := st.AddSignInFailures(ctx, first); err != nil {
		t.Fatal(err)
	}
	// The next poll re-reads the overlap (the same two failures) and sees
	// a third account in the same bucket and a fourth in the next one.
	second := failures(1, "u1@203.0.113.7", "u2@203.0.113.7", "u3@203.0.113.9")
	for _, tl := range failures(12, "u4@203.0.113.7").Tallies() {
		second.Merge(tl)
	}
	if err := st.AddSignInFailures(ctx, second); err != nil {
		t.Fatal(err)
	}
	got, err := st.SignInFailures(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	ip := tallyOf(t, got, tenant.FailureByIP, "203.0.113.7", 1)
	if diff := cmp.Diff([]string{"u1", "u2"}, ip.Members); diff != "" {
		t.Errorf("members of the address after an overlapping re-read (-want +got):\n%s", diff)
	}
	if ip.Count != 4 || ip.Legacy["IMAP4"] != 4 {
		t.Errorf("address count %d, legacy %v; want 4 (two polls counted the same two failures) and IMAP4: 4", ip.Count, ip.Legacy)
	}
	net := tallyOf(t, got, tenant.FailureByNet, "203.0.113.0/24", 1)
	if diff := cmp.Diff([]string{"u1", "u2", "u3"}, net.Members); diff != "" {
		t.Errorf("members of the network (-want +got):\n%s", diff)
	}
	acct := tallyOf(t, got, tenant.FailureByAccount, "u3", 1)
	if diff := cmp.Diff([]string{"203.0.113.9"}, acct.Members); diff != "" || acct.UPN != "u3@contoso.example" {
		t.Errorf("account tally %+v: members diff %s, UPN want u3@contoso.example", acct, diff)
	}
	if !acct.First.Equal(t0.Add(time.Minute)) || !acct.Last.Equal(t0.Add(time.Minute)) {
		t.Errorf("account first/last %v/%v, want %v", acct.First, acct.Last, t0.Add(time.Minute))
	}
	later := tallyOf(t, got, tenant.FailureByIP, "203.0.113.7", 12)
	if diff := cmp.Diff([]string{"u4"}, later.Members); diff != "" {
		t.Errorf("the next bucket's address tally (-want +got):\n%s", diff)
	}
	// Reading from the second bucket leaves the first out.
	from, err := st.SignInFailures(ctx, t0.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range from.Tallies() {
		if tl.Bucket.Before(t0.Add(10 * time.Minute)) {
			t.Errorf("a read from 10:15 returned a tally of the bucket %v", tl.Bucket)
		}
	}
	if from.Len() != 3 {
		t.Errorf("%d tallies from 10:15, want the 3 of the second bucket", from.Len())
	}
}

// TestSignInFailuresBatchAndCap: one bucket of a spray holds more rows
// than a transaction takes (written in several), and an address's members
// stop at the cap, the rest counted as dropped, across writes too.
func TestSignInFailuresBatchAndCap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	var pairs []string
	for i := range 150 {
		pairs = append(pairs, fmt.Sprintf("user%03d@198.51.100.20", i))
	}
	if err := st.AddSignInFailures(ctx, failures(3, pairs[:120]...)); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSignInFailures(ctx, failures(4, pairs[100:]...)); err != nil {
		t.Fatal(err)
	}
	got, err := st.SignInFailures(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 152 { // 150 accounts, one address, one network
		t.Errorf("%d tallies stored, want 152", got.Len())
	}
	ip := tallyOf(t, got, tenant.FailureByIP, "198.51.100.20", 3)
	if len(ip.Members) != tenant.FailureMembersMax || ip.Members[0] != "user000" || ip.Members[99] != "user099" {
		t.Errorf("address members %d (%v … ), want the first %d", len(ip.Members), ip.Members[:3], tenant.FailureMembersMax)
	}
	// First write: 20 over the cap; second: 50 accounts, none fits.
	if ip.Dropped != 70 || ip.Count != 170 {
		t.Errorf("address dropped %d, count %d; want 70 and 170", ip.Dropped, ip.Count)
	}
}

// TestSignInFailuresConcurrent: polls on two instances writing the same
// rows at once lose no member: the loser of the ETag race reads and merges
// again.
func TestSignInFailuresConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	const writers = 6
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = st.AddSignInFailures(ctx, failures(5, fmt.Sprintf("w%d@192.0.2.1", w)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.SignInFailures(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	ip := tallyOf(t, got, tenant.FailureByIP, "192.0.2.1", 5)
	if diff := cmp.Diff([]string{"w0", "w1", "w2", "w3", "w4", "w5"}, ip.Members); diff != "" || ip.Count != writers {
		t.Errorf("concurrent writes: count %d (want %d), members (-want +got):\n%s", ip.Count, writers, diff)
	}
}

func TestPruneSignInFailures(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	// Buckets at 10:00, 10:10 … 12:50: 18 of them, each with 3 rows; the
	// first holds more than a transaction's 100.
	var pairs []string
	for i := range 110 {
		pairs = append(pairs, fmt.Sprintf("a%03d@192.0.2.%d", i, i%200))
	}
	big := failures(0, pairs...)
	if err := st.AddSignInFailures(ctx, big); err != nil {
		t.Fatal(err)
	}
	for b := 1; b < 18; b++ {
		if err := st.AddSignInFailures(ctx, failures(b*10, "x@192.0.2.250")); err != nil {
			t.Fatal(err)
		}
	}
	cut := t0.Add(2*time.Hour + 5*time.Minute) // inside the 12:00 bucket: it stays
	n, err := st.PruneSignInFailures(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if want := big.Len() + 11*3; n != want {
		t.Errorf("pruned %d rows, want %d", n, want)
	}
	left, err := st.SignInFailures(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if left.Len() != 6*3 {
		t.Errorf("%d tallies left, want the 18 of 12:00–12:50", left.Len())
	}
	for _, tl := range left.Tallies() {
		if tl.Bucket.Before(t0.Add(2 * time.Hour)) {
			t.Errorf("bucket %v survived a prune before %v", tl.Bucket, cut)
		}
	}
	if n, err := st.PruneSignInFailures(ctx, cut); err != nil || n != 0 {
		t.Errorf("pruning again: %d rows, %v; want 0, nil", n, err)
	}
}
