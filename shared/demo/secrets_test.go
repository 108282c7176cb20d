package demo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/demo"
)

// TestNoSecretLeaks drives each failure path of the deployed app with
// planted, unique secrets — a storage account key, a SAS signature, the
// function key in the notification URLs (code=), the Teams webhook's sig=,
// the subscriptions' clientState (real and forged), a Resource Manager
// token and the managed identity's header — and asserts that none of them
// appears in any log line (the host's and the handler's, as `tenantwatch
// host` and `tenantwatch serve` write them), any invocation result (Outputs
// and Logs, which the Functions host forwards to Application Insights), any
// HTTP answer, or any card the Teams stand-in received.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	t.Run("SAS storage unreachable", func(t *testing.T) {
		r := newSecretRun(t, az, "sasgone")
		defer r.check()
		dead := deadPort(t)
		conn, err := azuritetest.SASConnectionString(dead, dead, dead, "rwdlacu", time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		r.plantSAS(conn)
		r.start(demo.Options{InProcess: true, Settings: map[string]string{"AzureWebJobsStorage": conn}})
		r.timer("PollDirectory", false)
		r.notifications(`{"value":[{"subscriptionId":"`+r.id()+`","clientState":"`+r.plant("ForgedState")+`","changeType":"updated","resource":"Users/x","tenantId":"t","resourceData":{"id":"x"}}]}`, false)
	})
	t.Run("account key refused", func(t *testing.T) {
		r := newSecretRun(t, az, "keybad")
		defer r.check()
		b := make([]byte, 64)
		_, _ = rand.Read(b)
		key := base64.StdEncoding.EncodeToString(b) // a key of the right shape, not the account's: Azurite answers 403
		r.remember(key)
		conn := strings.Replace(az.ConnectionString(), azuritetest.AccountKey, key, 1)
		r.start(demo.Options{InProcess: true, Settings: map[string]string{"AzureWebJobsStorage": conn}})
		r.timer("PollDirectory", false)
	})
	t.Run("SAS storage", func(t *testing.T) {
		r := newSecretRun(t, az, "sasok")
		defer r.check()
		conn, err := az.SASConnectionString("rwdlacup", time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		r.plantSAS(conn)
		r.start(demo.Options{Settings: map[string]string{"AzureWebJobsStorage": conn}, GraphProxy: r.recordSubscriptions})
		r.timer("PollDirectory", true) // a new installation: subscribes
		r.timer("DailySweep", true)    // reports in Blob Storage, a digest in the outbox
		r.timer("DeliverAlerts", true) // the digest card, with the report's URL
		if len(r.teams.posts()) == 0 {
			t.Fatal("no card reached the Teams stand-in")
		}
		subs := r.e.Sim.Subscriptions()
		if len(subs) == 0 {
			t.Fatal("the app did not subscribe")
		}
		state := r.state(subs[0].Resource)
		before := r.e.Host.Stats().Functions["ProcessChanges"].Invocations
		r.notifications(fmt.Sprintf(`{"value":[%s,%s,%s]}`,
			notification(subs[0].ID, state, "n1"),
			notification(subs[0].ID, r.plant("ForgedState"), "n2"),
			notification(r.id(), r.plant("ForgedUnknown"), "n3")), true)
		r.waitProcessed(before + 1)
		r.get("/api/Doctor")
	})
	t.Run("Graph, Teams and Resource Manager quote the secrets", func(t *testing.T) {
		r := newSecretRun(t, az, "echo")
		defer r.check()
		r.plant(azuritetest.AccountKey)
		r.teams.echo = true
		token := r.plant("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + r.plant("PlantedArmToken"))
		header := r.plant("PlantedIdentityHeader")
		arm := r.server(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"error":{"code":"AuthorizationFailed","message":"%s %s with Authorization: %s (token %s) has no access"}}`,
				req.Method, req.URL, req.Header.Get("Authorization"), strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
		})
		identity := r.server(func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get("X-IDENTITY-HEADER") != header {
				http.Error(w, "wrong identity header", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
			fmt.Fprintf(w, `{"access_token":%q,"expires_on":%q,"resource":%q,"token_type":"Bearer"}`, token, exp, req.URL.Query().Get("resource"))
		})
		r.start(demo.Options{GraphProxy: r.echoSubscriptions, Settings: map[string]string{
			"TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION": "00000000-0000-0000-0000-000000000009",
			"TENANTWATCH_ARM_URL":                   arm.URL,
			"IDENTITY_ENDPOINT":                     identity.URL + "/msi/token",
			"IDENTITY_HEADER":                       header,
		}})
		r.timer("PollDirectory", false)      // subscribing fails: Graph quotes the request
		r.timer("RenewSubscriptions", false) // the same
		r.timer("DailySweep", true)          // Resource Manager quotes the token: the rule is skipped, the reason is on the digest
		r.timer("DeliverAlerts", true)       // Teams quotes the webhook URL
		r.get("/api/Doctor")
		if r.armCalls() == 0 {
			t.Error("the app never called Resource Manager: the path is not exercised")
		}
		if len(r.teams.posts()) == 0 || len(r.states()) == 0 {
			t.Errorf("Teams saw %d posts, Graph %d subscription requests: the paths are not exercised", len(r.teams.posts()), len(r.states()))
		}
	})
}

// never is a schedule that does not fire during a test: the test runs the
// functions itself.
const never = "0 0 0 1 1 *"

// secretRun is one scenario: a demo environment, the secrets planted in
// it, and everything it wrote.
type secretRun struct {
	t     *testing.T
	az    *azuritetest.Azurite
	name  string
	e     *demo.Env
	logs  *logBuffer
	teams *teamsStandIn
	key   string

	mu      sync.Mutex
	secrets []string
	out     []string          // invocation results and HTTP answers
	subs    map[string]string // resource → clientState, as the app sent them to Graph
	arm     int
	closed  bool
}

func newSecretRun(t *testing.T, az *azuritetest.Azurite, name string) *secretRun {
	r := &secretRun{t: t, az: az, name: name, logs: &logBuffer{}, subs: map[string]string{}}
	r.key = r.plant("PlantedFunctionKey")
	r.teams = newTeamsStandIn(t)
	r.teams.url = r.teams.srv.URL + "/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + r.plant("PlantedTeamsSig")
	t.Cleanup(r.close)
	return r
}

// plant returns a unique secret starting with prefix and remembers it.
func (r *secretRun) plant(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := prefix + hex.EncodeToString(b)
	r.remember(s)
	return s
}

// remember adds a secret in the forms it can take in text.
func (r *secretRun) remember(s string) {
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	if b, err := json.Marshal(s); err == nil {
		forms = append(forms, strings.Trim(string(b), `"`))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range forms {
		if !slices.Contains(r.secrets, f) {
			r.secrets = append(r.secrets, f)
		}
	}
}

// plantSAS remembers the sig= of a SAS connection string.
func (r *secretRun) plantSAS(conn string) {
	_, sas, _ := strings.Cut(conn, "SharedAccessSignature=")
	q, err := url.ParseQuery(sas)
	if err != nil || q.Get("sig") == "" {
		r.t.Fatalf("no sig= in %q", conn)
	}
	r.remember(q.Get("sig"))
}

// id returns a random subscription id.
func (r *secretRun) id() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (r *secretRun) server(h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "serviceTags") {
			r.mu.Lock()
			r.arm++
			r.mu.Unlock()
		}
		h(w, req)
	}))
	r.t.Cleanup(srv.Close)
	return srv
}

func (r *secretRun) armCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arm
}

func (r *secretRun) start(o demo.Options) {
	r.t.Helper()
	o.Root = root(r.t)
	o.Command = []string{os.Args[0]}
	o.Azurite = r.az
	o.Log = r.logs
	o.FunctionKey = r.key
	settings := map[string]string{
		serveEnv:                        "1",
		"PollDirectorySchedule":         never,
		"PollSignInsSchedule":           never,
		"DailySweepSchedule":            never,
		"RenewSubscriptionsSchedule":    never,
		"DeliverAlertsSchedule":         never,
		"TENANTWATCH_TABLE_PREFIX":      r.name,
		"TENANTWATCH_REPORT_CONTAINER":  "reports-" + r.name,
		"TENANTWATCH_TEAMS_WEBHOOK_URL": r.teams.url,
		"TENANTWATCH_DELIVERY_BACKOFF":  "100ms",
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	o.Settings = settings
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := demo.Start(ctx, o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.e = e
}

func (r *secretRun) close() {
	r.mu.Lock()
	closed := r.closed
	r.closed = true
	r.mu.Unlock()
	if !closed && r.e != nil {
		r.e.Close()
	}
	if r.t.Failed() {
		r.t.Logf("component logs:\n%s", tail(r.logs.String(), 200))
	}
}

func (r *secretRun) record(what string, v any) {
	b, _ := json.Marshal(v)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = append(r.out, what+": "+string(b))
}

// invoke runs a function through the host, as the Functions host does,
// and records its result. wantOK says whether it should succeed.
func (r *secretRun) invoke(name string, data map[string]any, wantOK bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := r.e.Host.Invoke(ctx, name, data, nil)
	if res != nil {
		r.record(name+" result", res)
	}
	if err != nil {
		r.record(name+" error", err.Error())
	}
	if (err == nil) != wantOK {
		r.t.Errorf("%s: err = %v, want success %v", name, err, wantOK)
	}
}

func (r *secretRun) timer(name string, wantOK bool) {
	r.t.Helper()
	r.invoke(name, map[string]any{"timer": map[string]any{"Schedule": map[string]any{"AdjustForDST": true}, "IsPastDue": false}}, wantOK)
}

// notifications invokes GraphNotifications with body, as the host passes
// Graph's POST (the URL and query with the function key included).
func (r *secretRun) notifications(body string, wantOK bool) {
	r.t.Helper()
	u := r.e.Host.HTTPURL() + "/api/GraphNotifications?code=" + url.QueryEscape(r.key)
	r.invoke("GraphNotifications", map[string]any{"req": map[string]any{
		"Url": u, "Method": http.MethodPost, "Query": map[string]string{"code": r.key},
		"Headers": map[string][]string{"Content-Type": {"application/json"}}, "Params": map[string]string{},
		"Identities": []any{}, "Body": body,
	}}, wantOK)
}

// get calls an HTTP function through the host's HTTP endpoint and records
// the answer.
func (r *secretRun) get(path string) {
	r.t.Helper()
	resp, err := http.Get(r.e.Host.HTTPURL() + path + "?code=" + url.QueryEscape(r.key))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r.record(path, map[string]any{"status": resp.StatusCode, "body": string(b)})
	if resp.StatusCode != http.StatusOK {
		r.t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
}

// waitProcessed waits until ProcessChanges has run n times in all.
func (r *secretRun) waitProcessed(n int64) {
	r.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for r.e.Host.Stats().Functions["ProcessChanges"].Invocations < n {
		if time.Now().After(deadline) {
			r.t.Fatalf("ProcessChanges did not run: the valid notification was not queued")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recordSubscriptions passes Graph through, remembering the clientState
// of each subscription the app creates.
func (r *secretRun) recordSubscriptions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/subscriptions") {
			body, _ := io.ReadAll(req.Body)
			r.learnState(body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, req)
	})
}

// echoSubscriptions refuses every subscription with a message that quotes
// the request: the notification URLs (with the function key) and the
// clientState.
func (r *secretRun) echoSubscriptions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/subscriptions") {
			next.ServeHTTP(w, req)
			return
		}
		body, _ := io.ReadAll(req.Body)
		s := r.learnState(body)
		msg := fmt.Sprintf("Subscription validation request failed for notificationUrl %s and lifecycleNotificationUrl %s; clientState: %s; request: %s",
			s.NotificationURL, s.LifecycleURL, s.ClientState, body)
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "InvalidRequest", "message": msg}})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(b)
	})
}

type subscriptionRequest struct {
	Resource        string `json:"resource"`
	NotificationURL string `json:"notificationUrl"`
	LifecycleURL    string `json:"lifecycleNotificationUrl"`
	ClientState     string `json:"clientState"`
}

func (r *secretRun) learnState(body []byte) subscriptionRequest {
	var s subscriptionRequest
	if err := json.Unmarshal(body, &s); err != nil || s.ClientState == "" {
		r.t.Errorf("a subscription request without clientState: %s", body)
		return s
	}
	r.remember(s.ClientState)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs[strings.ToLower(strings.Trim(s.Resource, "/"))] = s.ClientState
	return s
}

func (r *secretRun) state(resource string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.subs[strings.ToLower(strings.Trim(resource, "/"))]
	if !ok {
		r.t.Fatalf("no clientState seen for %s", resource)
	}
	return s
}

func (r *secretRun) states() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subs
}

func notification(subID, state, id string) string {
	return fmt.Sprintf(`{"id":%q,"subscriptionId":%q,"clientState":%q,"changeType":"updated","resource":"Users/%s","tenantId":"t","resourceData":{"id":%q}}`,
		id, subID, state, id, id)
}

// check closes the environment (the handler's last lines are written) and
// looks for every planted secret in the logs, the results and the cards.
// Scenarios defer it, so that it also runs after a failed step.
func (r *secretRun) check() {
	r.t.Helper()
	r.close()
	r.mu.Lock()
	secrets := append([]string(nil), r.secrets...)
	out := strings.Join(r.out, "\n")
	r.mu.Unlock()
	places := map[string]string{
		"the logs":             r.logs.String(),
		"an invocation result": out,
		"a card sent to Teams": strings.Join(r.teams.posts(), "\n"),
	}
	if strings.TrimSpace(places["the logs"]) == "" || out == "" {
		r.t.Error("nothing was logged or recorded: the run is not what the test thinks")
	}
	for where, text := range places {
		for _, s := range secrets {
			if s == "" {
				continue
			}
			if i := strings.Index(text, s); i >= 0 {
				r.t.Errorf("a planted secret (%s) reached %s: …%s…", s, where, text[max(0, i-300):min(len(text), i+len(s)+100)])
			}
		}
	}
}

// teamsStandIn is a Teams Workflows webhook that records every post and
// either accepts it (202) or, with echo, refuses it quoting the request.
type teamsStandIn struct {
	srv  *httptest.Server
	url  string
	echo bool

	mu  sync.Mutex
	got []string
}

func newTeamsStandIn(t *testing.T) *teamsStandIn {
	s := &teamsStandIn{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		s.mu.Lock()
		s.got = append(s.got, string(b))
		s.mu.Unlock()
		if s.echo {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"code":"InvalidRequestContent","message":"The request to %s (signature %s) is not valid."}}`,
				"http://"+req.Host+req.URL.RequestURI(), req.URL.Query().Get("sig"))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *teamsStandIn) posts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func deadPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}
