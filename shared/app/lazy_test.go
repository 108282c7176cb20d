package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/app"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// giveUp bounds every wait of these tests on a goroutine: a wait that
// runs out fails the test (the code under test would otherwise hang it);
// no test passes by waiting.
const giveUp = time.Minute

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(giveUp):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

// service is a fake handlers.Service that counts the calls it gets.
type service struct {
	mu    sync.Mutex
	calls map[string]int
}

func (s *service) hit(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = make(map[string]int)
	}
	s.calls[name]++
}

func (s *service) count() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

func (s *service) ClientState(_ context.Context, id string) (string, bool, error) {
	s.hit("ClientState")
	return "state of " + id, true, nil
}
func (s *service) ProcessChanges(context.Context, webhook.Notification) error {
	s.hit("ProcessChanges")
	return nil
}
func (s *service) Lifecycle(context.Context, webhook.Notification) error {
	s.hit("Lifecycle")
	return nil
}
func (s *service) PollDirectory(context.Context) error      { s.hit("PollDirectory"); return nil }
func (s *service) PollSignIns(context.Context) error        { s.hit("PollSignIns"); return nil }
func (s *service) DailySweep(context.Context) error         { s.hit("DailySweep"); return nil }
func (s *service) RenewSubscriptions(context.Context) error { s.hit("RenewSubscriptions"); return nil }
func (s *service) DeliverAlerts(context.Context) error      { s.hit("DeliverAlerts"); return nil }
func (s *service) Doctor(context.Context) ([]byte, error) {
	s.hit("Doctor")
	return []byte(`{}`), nil
}

func (s *service) ActivityAuthID(context.Context) (string, error) {
	s.hit("ActivityAuthID")
	return "", nil
}
func (s *service) ProcessActivity(context.Context, feedhook.Notification) error {
	s.hit("ProcessActivity")
	return nil
}
func (s *service) PollActivity(context.Context) error { s.hit("PollActivity"); return nil }

var _ handlers.Service = (*service)(nil)

// held is a fake Init whose builds wait for the test: each build reports
// its context on entered, then ends with the outcome the test sends on
// release (nil: the service), or with its context.
type held struct {
	svc     *service
	builds  atomic.Int32
	entered chan context.Context
	release chan error
}

func newHeld() *held {
	return &held{svc: &service{}, entered: make(chan context.Context, 16), release: make(chan error, 16)}
}

func (h *held) init(ctx context.Context) (handlers.Service, error) {
	h.builds.Add(1)
	h.entered <- ctx
	select {
	case err := <-h.release:
		if err != nil {
			return nil, err
		}
		return h.svc, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("build: %w", context.Cause(ctx))
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// TestLazyRetriesWithBackoff: a failed build is retried by the first
// invocation after the back-off, which doubles with each failure up to
// its cap; the invocations in between fail at once with the failed
// build's error and build nothing; once built, the service is kept.
func TestLazyRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	fails := []error{errors.New("storage down 1"), errors.New("storage down 2"), errors.New("storage down 3"), errors.New("storage down 4")}
	svc := &service{}
	var builds int
	clk := &clock{t: t0}
	l := &app.Lazy{
		Init: func(context.Context) (handlers.Service, error) {
			builds++ // one build at a time: each test step waits for it
			if builds <= len(fails) {
				return nil, fails[builds-1]
			}
			return svc, nil
		},
		RetryAfter: time.Second, MaxRetryAfter: 4 * time.Second, Now: clk.Now,
	}
	tests := []struct {
		at         time.Duration // since t0
		wantBuilds int
		wantErr    error  // nil: the service answers
		wantText   string // in the error
	}{
		{at: 0, wantBuilds: 1, wantErr: fails[0]},
		{at: 0, wantBuilds: 1, wantErr: fails[0], wantText: "(next attempt in 1s)"},
		{at: 999 * time.Millisecond, wantBuilds: 1, wantErr: fails[0], wantText: "(next attempt in 1ms)"},
		{at: time.Second, wantBuilds: 2, wantErr: fails[1]}, // next: 2 s later
		{at: 2999 * time.Millisecond, wantBuilds: 2, wantErr: fails[1]},
		{at: 3 * time.Second, wantBuilds: 3, wantErr: fails[2]}, // next: 4 s later
		{at: 6999 * time.Millisecond, wantBuilds: 3, wantErr: fails[2]},
		{at: 7 * time.Second, wantBuilds: 4, wantErr: fails[3]}, // next: 4 s later, the cap (not 8)
		{at: 10999 * time.Millisecond, wantBuilds: 4, wantErr: fails[3], wantText: "(next attempt in 1ms)"},
		{at: 11 * time.Second, wantBuilds: 5},
		{at: 11 * time.Second, wantBuilds: 5},
		{at: time.Hour, wantBuilds: 5},
	}
	for i, tc := range tests {
		clk.Set(t0.Add(tc.at))
		err := l.PollDirectory(t.Context())
		switch {
		case tc.wantErr == nil && err != nil:
			t.Fatalf("step %d (t0+%s): %v", i, tc.at, err)
		case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.HasPrefix(err.Error(), "start-up: ") ||
			!strings.Contains(err.Error(), tc.wantText)):
			t.Fatalf("step %d (t0+%s): err = %v, want start-up: %v %s", i, tc.at, err, tc.wantErr, tc.wantText)
		}
		if builds != tc.wantBuilds {
			t.Fatalf("step %d (t0+%s): %d builds, want %d", i, tc.at, builds, tc.wantBuilds)
		}
	}
	if got := svc.count()["PollDirectory"]; got != 3 {
		t.Errorf("the service ran PollDirectory %d times, want 3", got)
	}
}

// TestLazyOneBuildForConcurrentCallers: invocations that arrive while the
// service is being built wait for that build; there is one build, and
// every one of them then runs on its service.
func TestLazyOneBuildForConcurrentCallers(t *testing.T) {
	t.Parallel()
	const n = 16
	h := newHeld()
	l := &app.Lazy{Init: h.init}
	waiting := make(chan struct{}, n)
	app.OnWait(l, func() { waiting <- struct{}{} })
	results := make(chan error, n)
	for range n {
		go func() { results <- l.PollDirectory(t.Context()) }()
	}
	receive(t, h.entered, "the build")
	for i := range n {
		receive(t, waiting, fmt.Sprintf("invocation %d to wait for the build", i+1))
	}
	h.release <- nil
	for i := range n {
		if err := receive(t, results, fmt.Sprintf("invocation %d", i+1)); err != nil {
			t.Errorf("invocation: %v", err)
		}
	}
	if b := h.builds.Load(); b != 1 {
		t.Errorf("%d builds, want 1", b)
	}
	if got := h.svc.count()["PollDirectory"]; got != n {
		t.Errorf("the service ran PollDirectory %d times, want %d", got, n)
	}
}

// TestLazyCanceledCallerDoesNotFailTheBuild: the invocation that started
// the build is canceled; it fails alone, the build goes on, not canceled,
// and the next invocation gets its service without another build.
func TestLazyCanceledCallerDoesNotFailTheBuild(t *testing.T) {
	t.Parallel()
	h := newHeld()
	l := &app.Lazy{Init: h.init}
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { first <- l.PollDirectory(ctx) }()
	buildCtx := receive(t, h.entered, "the build")
	cancel()
	if err := receive(t, first, "the canceled invocation"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled invocation = %v, want context.Canceled", err)
	}
	if err := buildCtx.Err(); err != nil {
		t.Errorf("the build's context ended with the invocation's: %v", err)
	}
	h.release <- nil
	state, ok, err := l.ClientState(t.Context(), "sub-1")
	if err != nil || !ok || state != "state of sub-1" {
		t.Errorf("ClientState after the build = %q, %v, %v", state, ok, err)
	}
	if b := h.builds.Load(); b != 1 {
		t.Errorf("%d builds, want 1", b)
	}
}

// TestLazyCallerGivesUpAlone: a notification POST with a short deadline
// arrives during a slow build; it returns when its deadline passes, while
// the build is still held, and the invocation that started the build gets
// the service once the build ends.
func TestLazyCallerGivesUpAlone(t *testing.T) {
	t.Parallel()
	h := newHeld()
	l := &app.Lazy{Init: h.init}
	first := make(chan error, 1)
	go func() { first <- l.PollDirectory(t.Context()) }()
	buildCtx := receive(t, h.entered, "the build")

	short := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		_, _, err := l.ClientState(ctx, "sub-1")
		short <- err
	}()
	// The build is held until release: this invocation returns on its
	// own deadline or not at all.
	err := receive(t, short, "the invocation with a short deadline to give up")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "start-up: ") {
		t.Errorf("short invocation = %v, want start-up: … context.DeadlineExceeded", err)
	}
	if err := buildCtx.Err(); err != nil {
		t.Errorf("the build's context ended: %v", err)
	}
	h.release <- nil
	if err := receive(t, first, "the first invocation"); err != nil {
		t.Errorf("first invocation: %v", err)
	}
	if b := h.builds.Load(); b != 1 {
		t.Errorf("%d builds, want 1", b)
	}
	if diff := cmp.Diff(map[string]int{"PollDirectory": 1}, h.svc.count()); diff != "" {
		t.Errorf("service calls (-want +got):\n%s", diff)
	}
}

type ctxKey struct{}

// TestLazyBuildContext: a build runs on a context of its own: the values
// of the invocation that started it, the start-up deadline, which ends a
// build that hangs (and fails it).
func TestLazyBuildContext(t *testing.T) {
	t.Parallel()
	var (
		value    any
		deadline bool
	)
	l := &app.Lazy{StartTimeout: time.Millisecond, Init: func(ctx context.Context) (handlers.Service, error) {
		value = ctx.Value(ctxKey{})
		_, deadline = ctx.Deadline()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("create tables: %w", ctx.Err())
		case <-time.After(giveUp):
			return nil, errors.New("the start-up deadline did not end the build")
		}
	}}
	ctx := context.WithValue(t.Context(), ctxKey{}, "invocation value")
	done := make(chan error, 1)
	go func() { done <- l.DailySweep(ctx) }()
	err := receive(t, done, "the build to time out")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "start-up: create tables: ") {
		t.Errorf("err = %v, want start-up: create tables: … context.DeadlineExceeded", err)
	}
	if value != "invocation value" || !deadline {
		t.Errorf("build context: value %v, deadline %v; want the invocation's value and a deadline", value, deadline)
	}
}

// TestLazyBadBuilds: a build that panics or returns no service fails
// like one that returns an error (the process goes on; the panic's stack
// is logged), and is retried.
func TestLazyBadBuilds(t *testing.T) {
	t.Parallel()
	clk := &clock{t: t0}
	svc := &service{}
	builds := 0
	var logs bytes.Buffer // written by the builds, read after them
	l := &app.Lazy{Now: clk.Now, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Init: func(context.Context) (handlers.Service, error) {
		builds++
		switch builds {
		case 1:
			panic("nil map")
		case 2:
			return nil, nil
		}
		return svc, nil
	}}
	for i, want := range []string{"start-up: panic: nil map", "start-up: no service built", ""} {
		clk.Set(t0.Add(time.Duration(i) * time.Hour))
		_, err := l.Doctor(t.Context())
		if got := fmt.Sprint(err); (want == "" && err != nil) || (want != "" && got != want) {
			t.Errorf("build %d: err = %v, want %q", i+1, err, want)
		}
	}
	for _, want := range []string{`"msg":"start-up panicked","panic":"nil map","stack":"goroutine `, `"msg":"start-up failed"`, `"msg":"started"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log has no %s:\n%s", want, logs.String())
		}
	}
}

// TestLazyDelegates: every function reaches the built service.
func TestLazyDelegates(t *testing.T) {
	t.Parallel()
	svc := &service{}
	l := &app.Lazy{Init: func(context.Context) (handlers.Service, error) { return svc, nil }}
	ctx := t.Context()
	n := webhook.Notification{SubscriptionID: "sub-1"}
	calls := []func() error{
		func() error { _, _, err := l.ClientState(ctx, "sub-1"); return err },
		func() error { return l.ProcessChanges(ctx, n) },
		func() error { return l.Lifecycle(ctx, n) },
		func() error { return l.PollDirectory(ctx) },
		func() error { return l.PollSignIns(ctx) },
		func() error { return l.DailySweep(ctx) },
		func() error { return l.RenewSubscriptions(ctx) },
		func() error { return l.DeliverAlerts(ctx) },
		func() error { _, err := l.Doctor(ctx); return err },
	}
	for _, call := range calls {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"ClientState": 1, "ProcessChanges": 1, "Lifecycle": 1, "PollDirectory": 1, "PollSignIns": 1,
		"DailySweep": 1, "RenewSubscriptions": 1, "DeliverAlerts": 1, "Doctor": 1}
	if diff := cmp.Diff(want, svc.count()); diff != "" {
		t.Errorf("service calls (-want +got):\n%s", diff)
	}
}
