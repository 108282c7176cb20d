package demo_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/demo"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The handler runs as a child process, as under the Functions host: the
// test binary re-executes itself as `tenantwatch serve`.
const serveEnv = "TENANTWATCH_E2E_SERVE"

// e2eParallel is how many end-to-end tests run at once unless -parallel
// says otherwise. Each has its own Azurite, simulated tenant, host and
// handler, and spends most of its time waiting for the 1–2 s timer
// schedules, not computing: on 2 cores the package took 152 s serial,
// 122 s two at a time (-parallel's default, GOMAXPROCS) and 67 s all at
// once.
const e2eParallel = 8

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		os.Exit(cli.Run(context.Background(), []string{"serve"}, &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", strconv.Itoa(e2eParallel)); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// logBuffer collects the components' logs and prints them if the test
// fails.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func start(t *testing.T, o demo.Options) *demo.Env {
	t.Helper()
	logs := &logBuffer{}
	o.Root = root(t)
	o.Command = []string{os.Args[0]}
	o.ServiceTags = filepath.Join(root(t), "shared", "azureip", "testdata", "servicetags-sample.json")
	o.Log = logs
	o.DataDir = t.TempDir()
	if o.Settings == nil {
		o.Settings = map[string]string{}
	}
	o.Settings[serveEnv] = "1"
	o.Settings["PollDirectorySchedule"] = "*/2 * * * * *"
	o.Settings["PollSignInsSchedule"] = "*/2 * * * * *"
	o.Settings["DeliverAlertsSchedule"] = "*/1 * * * * *"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := demo.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		// The demo's own secrets never reach a log (TestNoSecretLeaks
		// plants more).
		logs.mu.Lock()
		for _, s := range []string{"demo-function-key", "local-demo-signature"} {
			if strings.Contains(logs.b.String(), s) {
				t.Errorf("the logs show the demo's secret %q", s)
			}
		}
		logs.mu.Unlock()
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("component logs:\n%s", tail(logs.b.String(), 400))
			if p := os.Getenv("TENANTWATCH_E2E_LOG"); p != "" {
				_ = os.WriteFile(p, logs.b.Bytes(), 0o600)
			}
			logs.mu.Unlock()
		}
	})
	return e
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// install waits for the subscriptions, the baselines and the posture
// digest, and checks that installation posted exactly one card.
func install(t *testing.T, e *demo.Env) {
	t.Helper()
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
	if err := e.WaitActivity(ctx); err != nil {
		t.Fatal(err)
	}
	settle(t, e, 2)
	if cards := e.Receiver.Cards(); len(cards) != 1 || !cards[0].Digest {
		t.Fatalf("installation posted %d cards, want one digest: %+v", len(cards), titles(cards))
	}
}

// settle waits for n more directory polls to finish: the barrier after
// which a card that was going to arrive has arrived. It fails the test when
// they do not run within a minute (a stalled host), so that a count of the
// cards is never taken on a host that stopped working.
func settle(t *testing.T, e *demo.Env, n int) {
	t.Helper()
	start := e.Host.Stats().Functions["PollDirectory"].Invocations
	want := start + int64(n) + 1 // the poll running now may have begun before the awaited change
	deadline := time.Now().Add(time.Minute)
	for e.Host.Stats().Functions["PollDirectory"].Invocations < want {
		if time.Now().After(deadline) {
			t.Fatalf("settle: PollDirectory ran %d of %d times in a minute: the host stalled",
				e.Host.Stats().Functions["PollDirectory"].Invocations-start, want-start)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func titles(cs []demo.Card) []string {
	var out []string
	for _, c := range cs {
		if c.Incident != "" {
			out = append(out, fmt.Sprintf("%s [%s %+v]", c.Title, c.Incident, c.Steps))
			continue
		}
		out = append(out, fmt.Sprintf("%s [%s %s]", c.Title, c.Rule, c.ObjectID))
	}
	return out
}

// play runs steps and checks each expected finding at or above medium
// produced exactly one card.
func play(t *testing.T, e *demo.Env, steps ...string) []demo.StepResult {
	t.Helper()
	var out []demo.StepResult
	for _, step := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		res, err := e.Play(ctx, step, tenant.SeverityMedium)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\ncards: %v", step, err, titles(e.Receiver.Cards()))
		}
		out = append(out, res)
	}
	return out
}

// exactlyOnce checks that every expected finding was alerted once: by its
// own card or as a new step of an incident card, never both, never twice;
// and that each incident had one first card, its follow-ups after it.
func exactlyOnce(t *testing.T, e *demo.Env, results []demo.StepResult) {
	t.Helper()
	settle(t, e, 2)
	count := make(map[string]int)
	firsts := make(map[string]int)
	for _, c := range e.Receiver.Cards() {
		switch {
		case c.Digest:
		case c.Incident != "":
			if !c.FollowUp {
				firsts[c.Incident]++
			} else if firsts[c.Incident] == 0 {
				t.Errorf("a follow-up of %s came before the incident's first card: %s", c.Incident, c.Title)
			}
			for _, s := range c.Steps {
				if s.New {
					count[s.Rule+" "+strings.ToLower(s.ObjectID)]++
				}
			}
		default:
			count[c.Rule+" "+strings.ToLower(c.ObjectID)]++
		}
	}
	for id, n := range firsts {
		if n != 1 {
			t.Errorf("incident %s: %d first cards, want 1 (then follow-ups)", id, n)
		}
	}
	for _, r := range results {
		for _, c := range r.Cards {
			k := c.Expected.Rule + " " + strings.ToLower(c.Expected.SubjectID)
			if count[k] != 1 {
				t.Errorf("%s: %d cards for %s on %s, want 1", r.Step, count[k], c.Expected.Rule, c.Expected.SubjectName)
			}
		}
	}
}

// TestStory plays every attack of the report against the app: each step's
// findings arrive as cards, once each, although Graph delivers every
// notification twice; installation on a tenant full of standing issues
// posted one digest.
func TestStory(t *testing.T) {
	t.Parallel()
	e := start(t, demo.Options{Sim: graphsim.Options{DuplicateNotifications: true}})
	install(t, e)
	res := play(t, e, apt29.Steps()...)
	exactlyOnce(t, e, res)
	for _, r := range res {
		if len(r.Cards) == 0 {
			t.Errorf("%s produced no card", r.Step)
		}
	}
	takeoverIsOneIncident(t, e, res)
	if st := e.Host.Stats().Functions["ProcessChanges"]; st.Invocations < 2 {
		t.Errorf("ProcessChanges ran %d times: the duplicated notification did not reach the queue", st.Invocations)
	}
	names, err := e.Reports(context.Background())
	if err != nil || len(names) != 4 {
		t.Errorf("reports in Azurite: %v, %v", names, err)
	}
}

// TestForgedClientState posts a notification with the right subscription
// id and a wrong clientState: the app answers 202 and queues nothing.
func TestForgedClientState(t *testing.T) {
	t.Parallel()
	e := start(t, demo.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.WaitSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	subs := e.Sim.Subscriptions()
	before := e.Host.Stats().Functions["ProcessChanges"].Invocations
	body := fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":"forged","changeType":"updated","resource":"Users/x","tenantId":"t","resourceData":{"id":"x"}}]}`, subs[0].ID)
	resp, err := http.Post(e.Host.HTTPURL()+"/api/GraphNotifications?code=demo-function-key", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d, want 202", resp.StatusCode)
	}
	// The barrier: the host writes an invocation's queue outputs before it
	// answers the HTTP call, and deletes a queue message only after the
	// handler has been invoked with it. So, once the 202 is here, a queued
	// forged notification is still in graph-changes (Azurite counts the
	// messages being processed too) or has made ProcessChanges run.
	if n := queued(ctx, t, e, "graph-changes"); n != 0 {
		t.Errorf("a forged notification was queued: %d messages in graph-changes", n)
	}
	if after := e.Host.Stats().Functions["ProcessChanges"].Invocations; after != before {
		t.Errorf("a forged notification was queued: ProcessChanges ran %d times", after-before)
	}
	// Without the function key the host refuses the call.
	resp, err = http.Post(e.Host.HTTPURL()+"/api/GraphNotifications", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a key: status %d, want 401", resp.StatusCode)
	}

	// The same deployment checked by `tenantwatch doctor --app`: the
	// Doctor function runs the checks as the app (here: against graphsim)
	// and finds both subscriptions live.
	var out, errb bytes.Buffer
	code := cli.Run(ctx, []string{"doctor", "--app", e.Host.HTTPURL(), "--function-key", "demo-function-key", "--allow-http-loopback"},
		&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	for _, want := range []string{"ok    users subscription", "ok    groups subscription", "ok    User.Read.All", "ok    Entra ID P1/P2 licence"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor --app: no %q (exit %d)\n%s%s", want, code, out.String(), errb.String())
		}
	}
	code = cli.Run(ctx, []string{"doctor", "--app", e.Host.HTTPURL(), "--function-key", "wrong", "--allow-http-loopback"},
		&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != cli.ExitError || strings.Contains(errb.String(), "wrong") {
		t.Errorf("doctor --app with a wrong key: exit %d, stderr %q", code, errb.String())
	}
}

// queued counts the messages in a queue, those being processed included.
func queued(ctx context.Context, t *testing.T, e *demo.Env, queue string) int32 {
	t.Helper()
	q, err := azqueue.NewQueueClientFromConnectionString(e.Azurite.ConnectionString(), queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	props, err := q.GetProperties(ctx, nil)
	if err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
	if props.ApproximateMessagesCount == nil {
		t.Fatalf("queue %s: no message count", queue)
	}
	return *props.ApproximateMessagesCount
}

// TestTeamsFailures: Teams answers 429 and 500 for a while. Cards are
// delayed, none is lost, none is sent twice.
func TestTeamsFailures(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	failing := false
	failed := 0
	e := start(t, demo.Options{Settings: map[string]string{"TENANTWATCH_DELIVERY_BACKOFF": "500ms"}, TeamsFail: func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		if !failing || failed >= 6 {
			return 0
		}
		failed++
		if failed%2 == 1 {
			return http.StatusTooManyRequests
		}
		return http.StatusInternalServerError
	}})
	install(t, e)
	mu.Lock()
	failing = true
	mu.Unlock()
	res := play(t, e, apt29.StepDisableAudit, apt29.StepSPBackdoor)
	exactlyOnce(t, e, res)
	mu.Lock()
	defer mu.Unlock()
	if failed != 6 {
		t.Errorf("Teams failed %d requests, want 6 (the test did not exercise retries)", failed)
	}
}

// TestDeltaExpired: every delta link expires (tenant maintenance: 410
// Gone). The next rounds resync in full and still see the attacks made
// after the expiry.
func TestDeltaExpired(t *testing.T) {
	t.Parallel()
	e := start(t, demo.Options{})
	install(t, e)
	e.Sim.ExpireDeltaTokens()
	res := play(t, e, apt29.StepSPBackdoor, apt29.StepDisableAudit)
	exactlyOnce(t, e, res)
	if e.Sim.Stats().Status[http.StatusGone] == 0 {
		t.Error("no delta request was answered 410: the test did not exercise the resync")
	}
}

// TestAzuriteRestart restarts the storage emulator right after an attack:
// the findings still reach Teams, once.
func TestAzuriteRestart(t *testing.T) {
	t.Parallel()
	e := start(t, demo.Options{})
	install(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	from := len(e.Receiver.Cards())
	res, err := e.Sim.Attack(ctx, apt29.StepSPBackdoor)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Azurite.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, x := range res.Expected {
		if x.Severity == "low" {
			continue
		}
		if _, err := e.WaitCard(ctx, from, func(c demo.Card) bool { return c.Announces(x.Rule, x.SubjectID) }); err != nil {
			t.Fatalf("after the restart, no card for %s: %v", x.Rule, err)
		}
	}
	exactlyOnce(t, e, []demo.StepResult{{Step: "sp-backdoor", Attack: res, Cards: expectedCards(res)}})
	// The findings are stored.
	st, err := store.NewTablesFromConnectionString(e.Azurite.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := st.Findings(ctx, func(state.FindingRecord) error { n++; return nil }); err != nil || n == 0 {
		t.Errorf("findings after the restart: %d, %v", n, err)
	}
}

func expectedCards(res graphsim.AttackResult) []demo.StepCard {
	var out []demo.StepCard
	for _, x := range res.Expected {
		if x.Severity != "low" {
			out = append(out, demo.StepCard{Expected: x})
		}
	}
	return out
}

// TestGraphThrottleStorm: Graph answers 429 to a third of all requests.
// Polling is delayed, not broken: the attacks still reach Teams.
func TestGraphThrottleStorm(t *testing.T) {
	t.Parallel()
	e := start(t, demo.Options{Sim: graphsim.Options{ThrottleRate: 0.33, RetryAfter: -1, Seed: 7}})
	install(t, e)
	res := play(t, e, apt29.StepDormantTakeover, apt29.StepSPBackdoor)
	exactlyOnce(t, e, res)
	if e.Sim.Stats().Throttled == 0 {
		t.Error("nothing was throttled")
	}
}

// takeoverIsOneIncident checks the story's takeover chain — the dormant
// account taken over, the backdoored app, its reply URL, the mail it read
// — in the cards: every expected finding of those steps that an incident
// card announces is announced by cards of one incident, which had exactly
// one first card and follow-ups; the steps after the first are announced
// by follow-ups, not fresh alarms.
func takeoverIsOneIncident(t *testing.T, e *demo.Env, res []demo.StepResult) {
	t.Helper()
	chain := map[string]bool{apt29.StepDormantTakeover: true, apt29.StepSPBackdoor: true, apt29.StepReplyURL: true, apt29.StepMailCollection: true}
	ids := make(map[string]bool)
	followUps := 0
	for _, r := range res {
		if !chain[r.Step] {
			continue
		}
		for _, c := range r.Cards {
			if c.Card.Incident == "" {
				if r.Step != apt29.StepDormantTakeover {
					t.Errorf("%s: %s on %s got a card of its own, not its incident's", r.Step, c.Expected.Rule, c.Expected.SubjectName)
				}
				continue
			}
			ids[c.Card.Incident] = true
			if c.Card.FollowUp {
				followUps++
			}
		}
	}
	var all []string
	for id := range ids {
		all = append(all, id)
	}
	if len(ids) != 1 {
		t.Fatalf("the takeover's findings are announced by the cards of %d incidents %v, want one", len(ids), all)
	}
	firsts := 0
	for _, c := range e.Receiver.Cards() {
		if c.Incident == all[0] && !c.FollowUp {
			firsts++
		}
	}
	if firsts != 1 || followUps == 0 {
		t.Errorf("incident %s: %d first cards and %d follow-ups for the takeover, want 1 and some", all[0], firsts, followUps)
	}
}
