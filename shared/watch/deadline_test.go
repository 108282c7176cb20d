package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// service serves the app's functions through the custom handler (Doctor
// is shared/app's, not under test here).
type service struct{ *watch.App }

func (service) Doctor(context.Context) ([]byte, error) {
	return nil, errors.New("doctor is not wired in this test")
}

// TestStuckGraphReadEndsTheRun: in serve, a Graph read that never gets an
// answer is cut by the function run's deadline: PollDirectory fails (500 to
// the host) with a logged error naming the read and the deadline, and the
// next tick, with Graph answering again, runs normally and finds the attack
// made meanwhile. Real Graph client, real handler, graphsim behind a
// switch that holds every service principal delta request unanswered.
func TestStuckGraphReadEndsTheRun(t *testing.T) {
	t.Parallel()
	var stuck atomic.Bool
	var held atomic.Int32
	e := newEnv(t, envOptions{Graph: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stuck.Load() && strings.Contains(r.URL.Path, "/servicePrincipals/delta") {
				held.Add(1)
				<-r.Context().Done() // no headers, no body, until the client gives up
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	e.install()

	const runTimeout = 2 * time.Second
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", "handlers")
	srv := httptest.NewServer(handlers.New(service{e.app}, &handlers.Options{Logger: log, RunTimeout: runTimeout}))
	t.Cleanup(srv.Close)
	tick := func() (int, string) {
		t.Helper()
		// A minute's safety: without a run deadline the tick would hang
		// and fail here, not pass.
		c := &http.Client{Timeout: time.Minute}
		resp, err := c.Post(srv.URL+"/PollDirectory", "application/json", bytes.NewReader([]byte(`{"Data":{},"Metadata":{}}`)))
		if err != nil {
			t.Fatalf("PollDirectory invocation: %v", err)
		}
		defer resp.Body.Close()
		var out struct{ Logs []string }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("PollDirectory answer: %v", err)
		}
		return resp.StatusCode, strings.Join(out.Logs, "\n")
	}

	e.clk.Advance(2 * time.Minute)
	res := e.attack(apt29.StepSPBackdoor)
	e.clk.Advance(2 * time.Minute)

	stuck.Store(true)
	status, logs := tick()
	if status != http.StatusInternalServerError {
		t.Fatalf("stuck tick: host status %d, want 500; logs %q", status, logs)
	}
	t.Logf("stuck tick: %s", logs)
	if held.Load() == 0 {
		t.Fatal("the stuck tick never reached the held read")
	}
	for _, want := range []string{"GET /servicePrincipals/delta", "PollDirectory ran past its 2s deadline"} {
		if !strings.Contains(logs, want) {
			t.Errorf("invocation log lacks %q:\n%s", want, logs)
		}
	}
	if l := e.logs.String(); !strings.Contains(l, "invocation failed") || !strings.Contains(l, "PollDirectory ran past its 2s deadline") {
		t.Errorf("the handler did not log the failure")
	}

	stuck.Store(false)
	e.clk.Advance(2 * time.Minute)
	if status, logs := tick(); status != http.StatusOK {
		t.Fatalf("next tick: host status %d, want 200; logs %q", status, logs)
	}
	e.alerted(expected(t, res, "sp.credential-added"))
}
