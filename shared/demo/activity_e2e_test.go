package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/demo"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
)

// activityOptions are the demo options of the Exchange path's tests: a
// fast PollActivity.
func activityOptions(o demo.Options) demo.Options {
	if o.Settings == nil {
		o.Settings = map[string]string{}
	}
	o.Settings["PollActivitySchedule"] = "*/2 * * * * *"
	return o
}

// waitPolls waits until n more PollActivity runs have finished (timer runs
// do not overlap: the (start+n+1)-th run begins after the (start+n)-th
// ended). Giving up fails the test.
func waitPolls(t *testing.T, e *demo.Env, n int64) {
	t.Helper()
	start := e.Host.Stats().Functions["PollActivity"].Invocations
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for e.Host.Stats().Functions["PollActivity"].Invocations < start+n+1 {
		select {
		case <-ctx.Done():
			t.Fatalf("PollActivity did not run %d more times", n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestActivityStory: the story's Exchange ending reaches the app through
// the Management Activity API's webhook, every notification delivered
// twice: each expected finding — the audit bypass, the app's collection
// (critical: from Azure), the audit gap, and the impersonation grant of the
// late, older blob — arrives as exactly one card, and each content blob was
// fetched once.
func TestActivityStory(t *testing.T) {
	t.Parallel()
	e := start(t, activityOptions(demo.Options{Sim: graphsim.Options{DuplicateNotifications: true}}))
	install(t, e)
	baselineHasActivityExpected(t, e)
	before := e.Sim.Stats().Requests["/activity/feed/audit"]
	res := play(t, e, apt29.StepMailCollection)
	if n := len(res[0].Cards); n != 4 {
		t.Fatalf("%d cards, want 4: %v", n, titles(e.Receiver.Cards()))
	}
	for _, c := range res[0].Cards {
		if c.Expected.Rule == "mail.app-collection" && !bytes.Contains(bytes.ToLower(c.Card.Body), []byte("critical")) {
			t.Errorf("the mail.app-collection card does not say critical: %s", c.Card.Body)
		}
	}
	// Barrier: the four notification POSTs (two blobs, each twice; the
	// late blob is announced when it becomes available, possibly after
	// its card came through the poll) answered, then two more polls
	// (which list both blobs again within their overlap).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	notified := func() int {
		n := 0
		for _, d := range e.Sim.Deliveries() {
			if d.Kind == "activity" && d.Status == 200 {
				n++
			}
		}
		return n
	}
	for notified() < 4 {
		if err := e.Sim.WaitDeliveries(ctx); err != nil {
			t.Fatalf("%d activity notifications answered 200, want 4 (two blobs, each twice): %v", notified(), err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d activity notifications answered 200, want 4 (two blobs, each twice)", notified())
		case <-time.After(100 * time.Millisecond):
		}
	}
	waitPolls(t, e, 2)
	if n := notified(); n != 4 {
		t.Errorf("%d activity notifications answered 200, want 4", n)
	}
	exactlyOnce(t, e, res)
	if got := e.Sim.Stats().Requests["/activity/feed/audit"] - before; got != 2 {
		t.Errorf("%d content blob fetches for two blobs announced twice and polled, want 2", got)
	}
}

// baselineHasActivityExpected checks that the installation read the
// scenario's Exchange audit records (activity.json) and recorded, as its
// baseline without cards, exactly the findings a scan reports from them
// (activity-expected.json), at their severities.
func baselineHasActivityExpected(t *testing.T, e *demo.Env) {
	t.Helper()
	want, err := apt29.ActivityExpected()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := store.NewTablesFromConnectionString(e.Azurite.ConnectionString(), &store.TablesOptions{Prefix: "tw"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err = tables.Findings(context.Background(), func(r state.FindingRecord) error {
		f := r.Finding
		if strings.HasPrefix(f.Rule, "exo.") || strings.HasPrefix(f.Rule, "mail.") {
			got[f.Rule+" "+strings.ToLower(f.Subject.ID)] = f.Severity.String() + " " + string(r.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range want {
		k := x.Rule + " " + strings.ToLower(x.SubjectID)
		if got[k] != x.Severity+" "+string(state.FindingBaseline) {
			t.Errorf("installation baseline: %s on %s = %q, want %q", x.Rule, x.SubjectName, got[k], x.Severity+" "+string(state.FindingBaseline))
		}
		delete(got, k)
	}
	for k, v := range got {
		t.Errorf("installation baseline holds %s (%s), which activity-expected.json does not list", k, v)
	}
}

// TestActivityWebhookExpired: the Management Activity API expires the
// app's webhook; PollActivity registers it again (validated anew), and the
// next content is announced to it.
func TestActivityWebhookExpired(t *testing.T) {
	t.Parallel()
	e := start(t, activityOptions(demo.Options{}))
	install(t, e)
	if err := e.Sim.ExpireActivityWebhook(activityfeed.ContentTypeExchange); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		addr, status, ok := e.Sim.ActivityWebhook(activityfeed.ContentTypeExchange)
		if ok && status == "enabled" && strings.Contains(addr, "/api/ActivityNotifications") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the expired webhook was not registered again (status %q)", status)
		case <-time.After(100 * time.Millisecond):
		}
	}
	res := play(t, e, apt29.StepMailCollection)
	if len(res[0].Cards) != 4 {
		t.Errorf("%d cards after the webhook came back, want 4", len(res[0].Cards))
	}
}

// TestActivityForbidden: the Management Activity API refuses the app
// (403 AF10001): the Exchange source is unavailable, PollActivity does not
// fail, the rest of the app runs (installation, the Graph steps), and
// doctor names the missing permission.
func TestActivityForbidden(t *testing.T) {
	t.Parallel()
	e := start(t, activityOptions(demo.Options{Sim: graphsim.Options{ActivityFault: graphsim.ActivityForbidden}}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.WaitSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.WaitCard(ctx, 0, func(c demo.Card) bool { return c.Digest }); err != nil {
		t.Fatalf("no posture digest: %v", err)
	}
	if err := e.WaitInstalled(ctx); err != nil {
		t.Fatal(err)
	}
	waitPolls(t, e, 2)
	if st := e.Host.Stats().Functions["PollActivity"]; st.Failures != 0 {
		t.Errorf("PollActivity failed %d of %d runs on a refused feed", st.Failures, st.Invocations)
	}
	play(t, e, apt29.StepSPBackdoor)
	var out, errb bytes.Buffer
	cli.Run(ctx, []string{"doctor", "--app", e.Host.HTTPURL(), "--function-key", "demo-function-key", "--allow-http-loopback"},
		&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if !strings.Contains(out.String(), "FAIL  ActivityFeed.Read") || !strings.Contains(out.String(), "AF10001") {
		t.Errorf("doctor --app does not report the refused feed:\n%s%s", out.String(), errb.String())
	}
}
