package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// giveUp bounds the waits of TestEach on each's goroutines: a wait that
// runs out fails the test (it would otherwise hang), it proves nothing.
const giveUp = time.Minute

// TestEach: each runs every call on at most Parallelism goroutines and
// uses them all; the first error cancels the calls running, no further
// call starts, and that error is returned; a context that ended first
// starts no call and its error is returned.
func TestEach(t *testing.T) {
	t.Parallel()

	t.Run("bounded, every call runs", func(t *testing.T) {
		t.Parallel()
		const n, parallel = 20, 3
		var (
			mu           sync.Mutex
			active, peak int
			ran          = make(map[int]bool)
		)
		started := make(chan int, n)
		gate := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- (&Tables{parallel: parallel}).each(t.Context(), n, func(ctx context.Context, i int) error {
				mu.Lock()
				active++
				peak = max(peak, active)
				ran[i] = true
				mu.Unlock()
				started <- i
				<-gate
				mu.Lock()
				active--
				mu.Unlock()
				return nil
			})
		}()
		// The first calls hold their goroutines until all are running.
		for range parallel {
			select {
			case <-started:
			case <-time.After(giveUp):
				close(gate)
				t.Fatalf("fewer than %d calls ran at once", parallel)
			}
		}
		close(gate)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(giveUp):
			t.Fatal("each did not return")
		}
		if len(ran) != n || peak != parallel {
			t.Errorf("%d of %d calls ran, at most %d at once; want all, at most %d", len(ran), n, peak, parallel)
		}
	})

	t.Run("first error stops the rest", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		var (
			mu       sync.Mutex
			calls    []int
			canceled error
		)
		second := make(chan struct{})
		err := (&Tables{parallel: 2}).each(t.Context(), 50, func(ctx context.Context, i int) error {
			mu.Lock()
			calls = append(calls, i)
			mu.Unlock()
			switch i {
			case 0: // fails once the second call is running
				<-second
				return boom
			case 1: // runs until the failure cancels it
				close(second)
				select {
				case <-ctx.Done():
				case <-time.After(giveUp):
					return errors.New("the failure did not cancel a running call")
				}
				mu.Lock()
				canceled = context.Cause(ctx)
				mu.Unlock()
				return ctx.Err()
			}
			return nil
		})
		if err != boom {
			t.Errorf("each = %v, want the first error, %v", err, boom)
		}
		if len(calls) != 2 || canceled != boom {
			t.Errorf("calls %v ran, the running one canceled by %v; want [0 1], canceled by %v", calls, canceled, boom)
		}
	})

	t.Run("context already ended", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var calls atomic.Int32
		err := (&Tables{parallel: 4}).each(ctx, 10, func(ctx context.Context, i int) error {
			calls.Add(1)
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("each = %v, want context.Canceled", err)
		}
		if n := calls.Load(); n != 0 {
			t.Errorf("%d calls started after the context ended, want none", n)
		}
	})

	t.Run("none", func(t *testing.T) {
		t.Parallel()
		err := (&Tables{parallel: 4}).each(t.Context(), 0, func(context.Context, int) error {
			t.Error("called for n = 0")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
