package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func hours(hs ...int) []time.Time {
	out := make([]time.Time, len(hs))
	for i, h := range hs {
		out[i] = t0.Add(time.Duration(h) * time.Hour)
	}
	return out
}

func TestSignIns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	steps := []struct {
		name      string
		add       map[string][]time.Time
		keepAfter time.Time
		max       int
		want      map[string][]time.Time // history of the users asked about
	}{
		{
			name: "new users, unsorted input with duplicates, ids case-insensitive",
			add:  map[string][]time.Time{"User-A": hours(5, 1, 3, 1), "user-b": hours(2), "USER-B": hours(4)},
			max:  10,
			want: map[string][]time.Time{"user-a": hours(1, 3, 5), "user-b": hours(2, 4)},
		},
		{
			name:      "merge with stored; drop before keepAfter; keep the newest max",
			add:       map[string][]time.Time{"user-a": hours(6, 2, 5), "user-c": hours(-10, 7)},
			keepAfter: t0.Add(2 * time.Hour),
			max:       3,
			want:      map[string][]time.Time{"user-a": hours(3, 5, 6), "user-b": hours(2, 4), "user-c": hours(7)},
		},
		{
			name:      "nothing to keep for a new user: no row",
			add:       map[string][]time.Time{"user-d": hours(-5)},
			keepAfter: t0,
			want:      map[string][]time.Time{"user-a": hours(3, 5, 6), "user-b": hours(2, 4), "user-c": hours(7)},
		},
		{
			name: "max 0 keeps all",
			add:  map[string][]time.Time{"user-c": hours(8, 9, 10, 11)},
			want: map[string][]time.Time{"user-a": hours(3, 5, 6), "user-b": hours(2, 4), "user-c": hours(7, 8, 9, 10, 11)},
		},
	}
	for _, s := range steps {
		if err := st.AddSignIns(ctx, s.add, s.keepAfter, s.max); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := st.SignInHistory(ctx, []string{"USER-A", "user-b", "user-c", "user-d", "nobody", "user-a"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
}

// TestSignInsBatchAndConcurrency: 150 users in one call (two
// transactions), then two concurrent calls adding to the same users: both
// calls' times are kept.
func TestSignInsBatchAndConcurrency(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	var users []string
	first := make(map[string][]time.Time)
	for i := 0; i < 150; i++ {
		u := fmt.Sprintf("user-%03d", i)
		users = append(users, u)
		first[u] = hours(i % 5)
	}
	if err := st.AddSignIns(ctx, first, time.Time{}, 50); err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  [2]error
	)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			add := make(map[string][]time.Time)
			for _, u := range users {
				add[u] = hours(100 + g)
			}
			<-start
			errs[g] = st.AddSignIns(ctx, add, time.Time{}, 50)
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	got, err := st.SignInHistory(ctx, users)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range users {
		if diff := cmp.Diff(hours(i%5, 100, 101), got[u]); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", u, diff)
		}
	}
}

// TestChainSignIns: the first steps of the device chains are kept whole
// per user (a sign-in kept twice is one row), read back for the users a
// later poll names from a time on, and pruned by time.
func TestChainSignIns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	si := func(id, user string, h int) tenant.SignIn {
		return tenant.SignIn{ID: id, UserID: user, Time: t0.Add(time.Duration(h) * time.Hour), AuthProtocol: "deviceCode",
			IP: "20.190.128.7", AppID: "29d9ed98-a469-4536-ade2-f981bc1d605e", ResourceID: "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"}
	}
	a1, a2, b1 := si("s-a1", "User-A", 1), si("s-a2", "user-a", 3), si("s-b1", "user-b", 2)
	odd := si("s-odd", "weird/user id#1", 2)
	if err := st.AddChainSignIns(ctx, []tenant.SignIn{a1, a2, b1, odd}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddChainSignIns(ctx, []tenant.SignIn{a2, {ID: "no-user"}}); err != nil { // again: one row
		t.Fatal(err)
	}
	got, err := st.ChainSignIns(ctx, []string{"USER-A", "weird/user id#1", "nobody"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]tenant.SignIn{a1, odd, a2}, got); diff != "" {
		t.Errorf("chain sign-ins (-want +got):\n%s", diff)
	}
	if got, err := st.ChainSignIns(ctx, []string{"user-a"}, t0.Add(2*time.Hour)); err != nil || len(got) != 1 || got[0].ID != "s-a2" {
		t.Errorf("from 12:00: %v, %v; want s-a2", got, err)
	}
	n, err := st.PruneChainSignIns(ctx, t0.Add(150*time.Minute))
	if err != nil || n != 3 {
		t.Errorf("pruned %d, %v; want 3 (a1, b1, the odd user's)", n, err)
	}
	got, err = st.ChainSignIns(ctx, []string{"user-a", "user-b", "weird/user id#1"}, time.Time{})
	if err != nil || len(got) != 1 || got[0].ID != "s-a2" {
		t.Errorf("after the prune: %v, %v; want s-a2 alone", got, err)
	}
}
