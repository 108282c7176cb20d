package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
