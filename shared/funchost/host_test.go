package funchost_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
	"github.com/google/go-cmp/cmp"
	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/funchost"
	"github.com/tenantwatch/tenantwatch/shared/golden"
)

func post(t *testing.T, url, contentType, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// peekAll reads up to 32 messages without dequeuing them and decodes them
// from base64 when encoded.
func peekAll(t *testing.T, conn, queue string, encoded bool) []string {
	t.Helper()
	q, err := azqueue.NewQueueClientFromConnectionString(conn, queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := int32(32)
	resp, err := q.PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		return nil // poison queues are created lazily
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range resp.Messages {
		text := *m.MessageText
		if encoded {
			b, err := base64.StdEncoding.DecodeString(text)
			if err != nil {
				t.Fatalf("message %q is not base64: %v", text, err)
			}
			text = string(b)
		}
		out = append(out, text)
	}
	return out
}

func TestHTTPTriggerQueueOutputTriggersQueueFunction(t *testing.T) {
	t.Parallel()
	conn, run := sharedStorage(t)
	root := writeApp(t, withRun(run, map[string]string{
		"host.json": fastHostJSON,
		"functions/Notify/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function", "methods": ["post"]},
			{"type": "http", "direction": "out", "name": "res"},
			{"type": "queue", "direction": "out", "name": "changes", "queueName": "rt-changes-RUN", "connection": "AzureWebJobsStorage"}]}`,
		"functions/Process/function.json": `{"bindings": [
			{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "rt-changes-RUN", "connection": "AzureWebJobsStorage"}]}`,
	}))
	fh := newFakeHandler(t)
	const message = `{"subscriptionId":"s1","resource":"users/1","changeType":"updated"}`
	fh.on("Notify", func(inv invocation) (int, any) {
		return http.StatusOK, map[string]any{
			"Outputs": map[string]any{
				"res":     map[string]any{"StatusCode": 202, "Body": "accepted", "Headers": map[string]string{"X-Test": "yes"}},
				"changes": []string{message},
			},
			"Logs": []string{"queued 1 change"},
		}
	})
	h := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Storage: conn})

	resp, body := post(t, h.HTTPURL()+"/api/Notify?validationToken=a%20b&code=anything", "text/plain; charset=utf-8", "raw <body>", nil)
	if resp.StatusCode != http.StatusAccepted || body != "accepted" || resp.Header.Get("X-Test") != "yes" {
		t.Errorf("response = %d %q X-Test=%q, want 202 accepted yes", resp.StatusCode, body, resp.Header.Get("X-Test"))
	}
	notify := fh.next(t, "Notify")
	var req struct {
		URL        string              `json:"Url"`
		Method     string              `json:"Method"`
		Query      map[string]string   `json:"Query"`
		Headers    map[string][]string `json:"Headers"`
		Params     map[string]string   `json:"Params"`
		Identities []any               `json:"Identities"`
		Body       string              `json:"Body"`
	}
	if err := json.Unmarshal(notify.Data["req"], &req); err != nil {
		t.Fatalf("Data.req: %v", err)
	}
	if !strings.HasSuffix(req.URL, "/api/Notify?validationToken=a%20b&code=anything") || req.Method != "POST" ||
		req.Query["validationToken"] != "a b" || req.Body != "raw <body>" ||
		!cmp.Equal(req.Headers["Content-Type"], []string{"text/plain; charset=utf-8"}) || req.Params == nil || req.Identities == nil {
		t.Errorf("Data.req = %+v", req)
	}
	if got := notify.Header.Get("X-Azure-Functions-InvocationId"); len(got) != 36 {
		t.Errorf("invocation id %q is not a UUID", got)
	}
	if got := notify.Header.Get("User-Agent"); got != "Azure-Functions-Host/"+funchost.HostVersion {
		t.Errorf("User-Agent = %q", got)
	}
	var sys struct{ MethodName, UtcNow, RandGuid string }
	if err := json.Unmarshal(notify.Metadata["sys"], &sys); err != nil || sys.MethodName != "Notify" || sys.UtcNow == "" || len(sys.RandGuid) != 36 {
		t.Errorf("Metadata.sys = %s (%v)", notify.Metadata["sys"], err)
	}

	process := fh.next(t, "Process")
	// The host serialises a string trigger value once more: a JSON string
	// whose content is the JSON string of the message.
	if got := unwrapString(t, json.RawMessage(unwrapString(t, process.Data["msg"]))); got != message {
		t.Errorf("Data.msg = %s, want the message %s", process.Data["msg"], message)
	}
	if got := string(process.Metadata["DequeueCount"]); got != "1" {
		t.Errorf("DequeueCount = %s, want 1", got)
	}
	for _, k := range []string{"Id", "PopReceipt", "InsertionTime", "ExpirationTime", "NextVisibleTime"} {
		if s := unwrapString(t, process.Metadata[k]); s == "" {
			t.Errorf("Metadata.%s is empty", k)
		}
	}
	waitFor(t, "the processed message to be deleted", func() bool { return len(peekAll(t, conn, run("rt-changes-RUN"), true)) == 0 })
	st := h.Stats().Functions
	if st["Notify"].Invocations != 1 || st["Process"].Invocations != 1 || st["Process"].Failures != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// waitFor polls cond until it holds (or fails the test after 30 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFailingQueueMessageEndsInPoisonQueue(t *testing.T) {
	t.Parallel()
	conn, run := sharedStorage(t)
	root := writeApp(t, withRun(run, map[string]string{
		"host.json": fastHostJSON, // maxDequeueCount 3, visibilityTimeout 0
		"functions/Fail/function.json": `{"bindings": [
			{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "poison-test-RUN", "connection": "AzureWebJobsStorage"}]}`,
	}))
	fh := newFakeHandler(t)
	fh.on("Fail", func(invocation) (int, any) { return http.StatusInternalServerError, "invocation failed" })
	h := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Storage: conn})

	const text = `{"kind":"change","id":"42","note":"ünïcode & <xml>"}`
	q, err := azqueue.NewQueueClientFromConnectionString(conn, run("poison-test-RUN"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(context.Background(), base64.StdEncoding.EncodeToString([]byte(text)), nil); err != nil {
		t.Fatal(err)
	}
	var counts []string
	for range 3 {
		inv := fh.next(t, "Fail")
		counts = append(counts, string(inv.Metadata["DequeueCount"]))
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, counts); diff != "" {
		t.Errorf("dequeue counts (-want +got):\n%s", diff)
	}
	waitFor(t, "the poison queue", func() bool { return len(peekAll(t, conn, run("poison-test-RUN-poison"), true)) > 0 })
	if diff := cmp.Diff([]string{text}, peekAll(t, conn, run("poison-test-RUN-poison"), true)); diff != "" {
		t.Errorf("poison queue (-want +got):\n%s", diff)
	}
	waitFor(t, "the original to be deleted", func() bool { return len(peekAll(t, conn, run("poison-test-RUN"), true)) == 0 })
	st := h.Stats().Functions["Fail"]
	if st.Invocations != 3 || st.Failures != 3 || st.Poisoned != 1 {
		t.Errorf("stats = %+v, want 3 invocations, 3 failures, 1 poisoned", st)
	}
}

func TestRunOnStartupAndAdminRun(t *testing.T) {
	t.Parallel()
	root := writeApp(t, map[string]string{
		"host.json": minimalHostJSON,
		"functions/Renew/function.json": `{"bindings": [
			{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "%RenewSchedule%", "runOnStartup": true}]}`,
		"functions/Sweep/function.json": `{"bindings": [
			{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 30 2 * * *"}]}`,
	})
	fh := newFakeHandler(t)
	now := utc("2026-03-01T10:00:00Z")
	h := startHost(t, root, &funchost.Options{
		HandlerURL: fh.srv.URL,
		Settings:   map[string]string{"RenewSchedule": "0 0 */6 * * *"},
		Now:        func() time.Time { return now },
	})
	renew := fh.next(t, "Renew")
	want := `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"0001-01-01T00:00:00Z","Next":"2026-03-01T12:00:00Z","LastUpdated":"2026-03-01T10:00:00Z"},"IsPastDue":false}`
	if got := string(renew.Data["timer"]); got != want {
		t.Errorf("Data.timer =\n%s\nwant\n%s", got, want)
	}

	resp, body := post(t, h.HTTPURL()+"/admin/functions/Sweep", "application/json", `{"input":""}`, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("admin run = %d %s, want 202", resp.StatusCode, body)
	}
	sweep := fh.next(t, "Sweep")
	var timer struct {
		IsPastDue      bool
		ScheduleStatus *struct{ Next string }
	}
	if err := json.Unmarshal(sweep.Data["timer"], &timer); err != nil || timer.ScheduleStatus == nil || timer.ScheduleStatus.Next != "2026-03-02T02:30:00Z" {
		t.Errorf("admin-run Data.timer = %s (%v)", sweep.Data["timer"], err)
	}
	if resp, _ := post(t, h.HTTPURL()+"/admin/functions/Nope", "application/json", `{"input":""}`, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("admin run of an unknown function = %d, want 404", resp.StatusCode)
	}
	if st := h.Stats().Functions; st["Renew"].Invocations != 1 || st["Sweep"].Invocations != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestTimerIsASingleton(t *testing.T) {
	t.Parallel()
	root := writeApp(t, map[string]string{
		"host.json": minimalHostJSON,
		"functions/Tick/function.json": `{"bindings": [
			{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "* * * * * *", "runOnStartup": true}]}`,
	})
	fh := newFakeHandler(t)
	release := make(chan struct{})
	fh.on("Tick", func(invocation) (int, any) {
		<-release // the first run outlasts several ticks
		return http.StatusOK, map[string]any{}
	})
	h := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL})
	waitFor(t, "a skipped tick", func() bool { return h.Stats().Functions["Tick"].Skipped >= 2 })
	if got := h.Stats().Functions["Tick"].Invocations; got != 1 {
		t.Errorf("%d invocations while the first was running, want 1", got)
	}
	close(release)
	// Sub-minute schedules are not monitored: ScheduleStatus is null.
	if got := string(fh.next(t, "Tick").Data["timer"]); !strings.Contains(got, `"ScheduleStatus":null`) {
		t.Errorf("Data.timer = %s, want a null ScheduleStatus", got)
	}
}

func TestFunctionKeys(t *testing.T) {
	t.Parallel()
	root := writeApp(t, map[string]string{
		"host.json":           minimalHostJSON,
		"Keyed/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["post"]}, {"type": "http", "direction": "out", "name": "$return"}]}`,
		"Open/function.json":  `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	})
	fh := newFakeHandler(t)
	fh.on("Keyed", func(invocation) (int, any) {
		return http.StatusOK, map[string]any{"ReturnValue": map[string]any{"statusCode": "201", "body": map[string]any{"ok": true}}}
	})
	fh.on("Open", func(invocation) (int, any) {
		return http.StatusOK, map[string]any{"Outputs": map[string]any{"res": map[string]any{"statusCode": 200, "body": "open"}}}
	})
	anyKey := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL})
	oneKey := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Settings: map[string]string{"FUNCTIONS_KEY": "s3cret"}})
	tests := []struct {
		name   string
		h      *funchost.Host
		path   string
		header map[string]string
		status int
		body   string
	}{
		{"no key", anyKey, "/api/Keyed", nil, http.StatusUnauthorized, ""},
		{"any code without FUNCTIONS_KEY", anyKey, "/api/keyed?code=x", nil, http.StatusCreated, `{"ok":true}`},
		{"any header without FUNCTIONS_KEY", anyKey, "/api/Keyed", map[string]string{"x-functions-key": "y"}, http.StatusCreated, `{"ok":true}`},
		{"wrong code", oneKey, "/api/Keyed?code=x", nil, http.StatusUnauthorized, ""},
		{"right header", oneKey, "/api/Keyed", map[string]string{"x-functions-key": "s3cret"}, http.StatusCreated, `{"ok":true}`},
		{"anonymous", oneKey, "/api/Open", nil, http.StatusOK, "open"},
		{"admin needs the key", oneKey, "/admin/functions/Open", nil, http.StatusUnauthorized, ""},
		{"unknown function", anyKey, "/api/Nope?code=x", nil, http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		resp, body := post(t, tc.h.HTTPURL()+tc.path, "text/plain", "x", tc.header)
		if resp.StatusCode != tc.status || (tc.body != "" && body != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, body, tc.status, tc.body)
		}
	}
	// GET is not among Keyed's methods: the route does not exist.
	resp, err := http.Get(anyKey.HTTPURL() + "/api/Keyed?code=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET on a POST function = %d, want 404", resp.StatusCode)
	}
}

// TestOutputsAndTheBase64Trap: JSON outputs arrive intact; a bare word
// that is valid base64 is decoded, as the host does; an output without a
// binding of its exact name is dropped.
func TestOutputsAndTheBase64Trap(t *testing.T) {
	t.Parallel()
	conn, run := sharedStorage(t)
	root := writeApp(t, withRun(run, map[string]string{
		"host.json": fastHostJSON,
		"functions/Emit/function.json": `{"bindings": [
			{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 0 1 1 *"},
			{"type": "queue", "direction": "out", "name": "json", "queueName": "trap-json-RUN"},
			{"type": "queue", "direction": "out", "name": "word", "queueName": "trap-word-RUN"},
			{"type": "queue", "direction": "out", "name": "undeclared2", "queueName": "trap-other-RUN"}]}`,
	}))
	fh := newFakeHandler(t)
	const object = `{"id":"1","changeType":"created"}`
	fh.on("Emit", func(invocation) (int, any) {
		return http.StatusOK, map[string]any{"Outputs": map[string]any{
			"json":       object,
			"word":       "abcd", // valid base64: becomes 3 bytes
			"undeclared": "dropped",
		}}
	})
	h := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Storage: conn})
	res, err := h.Invoke(context.Background(), "Emit", map[string]any{"timer": map[string]any{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.InvocationID) != 36 || res.StatusCode != http.StatusOK {
		t.Errorf("result = %+v", res)
	}
	if diff := cmp.Diff([]string{object}, peekAll(t, conn, run("trap-json-RUN"), true)); diff != "" {
		t.Errorf("JSON output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"\x69\xb7\x1d"}, peekAll(t, conn, run("trap-word-RUN"), true)); diff != "" {
		t.Errorf("base64 word output (-want +got):\n%s", diff)
	}
	if got := peekAll(t, conn, run("trap-other-RUN"), true); len(got) != 0 {
		t.Errorf("an output without a matching name was written: %q", got)
	}

	if _, err := h.Invoke(context.Background(), "Nope", nil, nil); !errors.Is(err, funchost.ErrUnknownFunction) {
		t.Errorf("Invoke(Nope) = %v, want ErrUnknownFunction", err)
	}
}

func TestMessageEncodingNone(t *testing.T) {
	t.Parallel()
	conn, run := sharedStorage(t)
	root := writeApp(t, withRun(run, map[string]string{
		"host.json": `{"version": "2.0", "extensions": {"queues": {"messageEncoding": "none", "maxPollingInterval": "00:00:00.200"}}}`,
		"functions/Emit/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
			{"type": "queue", "direction": "out", "name": "$return", "queueName": "plain-out-RUN"}]}`,
		"functions/Take/function.json": `{"bindings": [
			{"type": "queueTrigger", "direction": "in", "name": "item", "queueName": "plain-out-RUN"}]}`,
	}))
	fh := newFakeHandler(t)
	fh.on("Emit", func(invocation) (int, any) {
		return http.StatusOK, map[string]any{"ReturnValue": map[string]any{"plain": true}}
	})
	h := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Storage: conn})
	resp, _ := post(t, h.HTTPURL()+"/api/Emit", "text/plain", "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("HTTP function without an http output = %d, want 204", resp.StatusCode)
	}
	take := fh.next(t, "Take")
	if got := unwrapString(t, json.RawMessage(unwrapString(t, take.Data["item"]))); got != `{"plain":true}` {
		t.Errorf("Data.item = %s", take.Data["item"])
	}
}

func TestQueueListenerSurvivesAzuriteRestart(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	conn := az.ConnectionString()
	root := writeApp(t, map[string]string{
		"host.json": fastHostJSON,
		"functions/Take/function.json": `{"bindings": [
			{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "restart-q"}]}`,
	})
	fh := newFakeHandler(t)
	startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Storage: conn})
	q, err := azqueue.NewQueueClientFromConnectionString(conn, "restart-q", nil)
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(s string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := azuritetest.WaitReady(ctx, func(ctx context.Context) error {
			_, err := q.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString([]byte(s)), nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	enqueue(`{"n":1}`)
	fh.next(t, "Take")
	if err := az.Restart(); err != nil {
		t.Fatal(err)
	}
	enqueue(`{"n":2}`)
	got := fh.next(t, "Take")
	if s := unwrapString(t, json.RawMessage(unwrapString(t, got.Data["msg"]))); s != `{"n":2}` {
		t.Errorf("after the restart: Data.msg = %s", got.Data["msg"])
	}
}

func TestChildProcessHandler(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := writeApp(t, map[string]string{
		"host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": ` + strconv.Quote(exe) + `, "arguments": ["serve", "%HandlerArg%"]}}}`,
		"functions/Echo/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
			{"type": "http", "direction": "out", "name": "res"}]}`,
	})
	var stderr bytes.Buffer
	h := startHost(t, root, &funchost.Options{
		Settings: map[string]string{handlerEnv: "serve", "GREETING": "hello", "HandlerArg": "--expanded"},
		Stderr:   &syncWriter{w: &stderr},
	})
	if h.ReadyAfter() < 300*time.Millisecond {
		t.Errorf("ReadyAfter = %v, but the handler sleeps 300 ms before listening", h.ReadyAfter())
	}
	resp, body := post(t, h.HTTPURL()+"/api/Echo", "text/plain", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Echo = %d %s", resp.StatusCode, body)
	}
	var echo struct {
		Port         string
		Pid          int
		Args         []string
		Greeting     string
		InvocationID string
		UserAgent    string
	}
	if err := json.Unmarshal([]byte(body), &echo); err != nil {
		t.Fatalf("echo %q: %v", body, err)
	}
	if p, err := strconv.Atoi(echo.Port); err != nil || p == 0 || strings.HasSuffix(h.HTTPURL(), ":"+echo.Port) {
		t.Errorf("FUNCTIONS_CUSTOMHANDLER_PORT = %q", echo.Port)
	}
	if echo.Greeting != "hello" || !cmp.Equal(echo.Args, []string{"serve", "--expanded"}) || len(echo.InvocationID) != 36 ||
		echo.UserAgent != "Azure-Functions-Host/"+funchost.HostVersion {
		t.Errorf("echo = %+v", echo)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if p, err := os.FindProcess(echo.Pid); err == nil && p.Signal(syscallZero) == nil {
		t.Errorf("handler process %d still running after Close", echo.Pid)
	}
}

func TestChildProcessThatExitsFailsStart(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := writeApp(t, map[string]string{
		"host.json":           minimalHostJSON,
		"Timer/function.json": `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 0 1 1 *"}]}`,
	})
	app, err := funchost.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	h, err := funchost.New(app, &funchost.Options{HTTPAddr: "127.0.0.1:0", Command: []string{exe}, Settings: map[string]string{handlerEnv: "crash"}})
	if err != nil {
		t.Fatal(err)
	}
	err = h.Start(context.Background())
	if !errors.Is(err, funchost.ErrHandlerStart) || !strings.Contains(err.Error(), "cannot start: boom") {
		t.Errorf("Start = %v, want ErrHandlerStart with the handler's output", err)
	}
	_ = h.Close()
}

// syncWriter serialises writes from the child's output copiers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// syscallZero probes whether a process exists.
var syscallZero = syscall.Signal(0)

// TestInvocationPayloadsGolden records the request bodies the host sends
// for each trigger in testdata/invoke/*.golden.json (volatile values
// replaced), the reference for handler authors. go test -update rewrites
// them.
func TestInvocationPayloadsGolden(t *testing.T) {
	t.Parallel()
	conn, run := sharedStorage(t)
	root := writeApp(t, withRun(run, map[string]string{
		"host.json": fastHostJSON,
		"functions/GraphNotifications/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function", "methods": ["post"]},
			{"type": "http", "direction": "out", "name": "res"},
			{"type": "queue", "direction": "out", "name": "changes", "queueName": "golden-changes-RUN"}]}`,
		"functions/ProcessChanges/function.json": `{"bindings": [
			{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "golden-changes-RUN"}]}`,
		"functions/RenewSubscriptions/function.json": `{"bindings": [
			{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 */6 * * *", "runOnStartup": true}]}`,
	}))
	fh := newFakeHandler(t)
	fh.on("GraphNotifications", func(invocation) (int, any) {
		return http.StatusOK, map[string]any{"Outputs": map[string]any{
			"res":     map[string]any{"statusCode": "202"},
			"changes": []string{`{"changeType":"updated","resource":"Users/1"}`},
		}}
	})
	now := utc("2026-03-01T10:00:00Z")
	h := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Storage: conn, Now: func() time.Time { return now }})
	timer := fh.next(t, "RenewSubscriptions")
	resp, _ := post(t, h.HTTPURL()+"/api/GraphNotifications?code=k", "application/json; charset=utf-8",
		`{"value":[{"subscriptionId":"s1","clientState":"secret","changeType":"updated","resource":"Users/1"}]}`, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d, want 202", resp.StatusCode)
	}
	notification := fh.next(t, "GraphNotifications")
	queue := fh.next(t, "ProcessChanges")
	for name, inv := range map[string]invocation{"http": notification, "queue": queue, "timer": timer} {
		golden.Check(t, "testdata/invoke/"+name+".golden.json", normalizePayload(t, inv.Raw))
	}
}

var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// normalizePayload indents a request body and replaces its volatile values.
func normalizePayload(t *testing.T, raw []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	volatile := map[string]bool{"RandGuid": true, "Id": true, "PopReceipt": true, "InsertionTime": true, "ExpirationTime": true, "NextVisibleTime": true}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if volatile[k] {
					x[k] = "<" + k + ">"
					continue
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return loopbackPort.ReplaceAll(out.Bytes(), []byte("127.0.0.1:7071"))
}

func TestHTTPRequestData(t *testing.T) {
	t.Parallel()
	root := writeApp(t, map[string]string{
		"host.json":            minimalHostJSON,
		"In/function.json":     `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
		"Routed/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "route": "v1/hooks"}, {"type": "http", "direction": "out", "name": "res"}]}`,
		"Off/function.json":    `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}]}`,
	})
	fh := newFakeHandler(t)
	h := startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Settings: map[string]string{"AzureWebJobs.Off.Disabled": "true"}})
	tests := []struct {
		name, path, contentType, body string
		wantBody                      any // nil: no Body key
		wantQuery                     map[string]string
	}{
		{"text", "/api/In?a=1&a=2&b=", "text/plain", "héllo", "héllo", map[string]string{"a": "1,2", "b": ""}},
		{"octet-stream is base64", "/api/In", "application/octet-stream", "\x00\x01", base64.StdEncoding.EncodeToString([]byte("\x00\x01")), map[string]string{}},
		{"multipart is base64", "/api/In", "multipart/form-data; boundary=x", "--x--", base64.StdEncoding.EncodeToString([]byte("--x--")), map[string]string{}},
		{"invalid UTF-8 is base64", "/api/In", "text/plain", "\xff\xfe", base64.StdEncoding.EncodeToString([]byte("\xff\xfe")), map[string]string{}},
		{"empty body", "/api/In", "text/plain", "", nil, map[string]string{}},
		{"route", "/api/V1/Hooks/", "application/json", `{"a":1}`, `{"a":1}`, map[string]string{}},
	}
	for _, tc := range tests {
		resp, _ := post(t, h.HTTPURL()+tc.path, tc.contentType, tc.body, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", tc.name, resp.StatusCode)
			continue
		}
		inv := <-fh.calls
		var req map[string]any
		if err := json.Unmarshal(inv.Data["req"], &req); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.wantBody, req["Body"]); diff != "" {
			t.Errorf("%s: Body (-want +got):\n%s", tc.name, diff)
		}
		var query map[string]string
		b, _ := json.Marshal(req["Query"])
		_ = json.Unmarshal(b, &query)
		if diff := cmp.Diff(tc.wantQuery, query); diff != "" {
			t.Errorf("%s: Query (-want +got):\n%s", tc.name, diff)
		}
	}
	if resp, _ := post(t, h.HTTPURL()+"/api/Off", "text/plain", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("disabled function answered %d, want 404", resp.StatusCode)
	}
}

func TestHandlerExitIsReported(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := writeApp(t, map[string]string{
		"host.json": minimalHostJSON,
		"Echo/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
			{"type": "http", "direction": "out", "name": "res"}]}`,
	})
	h := startHost(t, root, &funchost.Options{Command: []string{exe}, Settings: map[string]string{handlerEnv: "serve"}})
	_, body := post(t, h.HTTPURL()+"/api/Echo", "text/plain", "", nil)
	var echo struct{ Pid int }
	if err := json.Unmarshal([]byte(body), &echo); err != nil {
		t.Fatalf("echo %q: %v", body, err)
	}
	p, err := os.FindProcess(echo.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.HandlerExited():
		if err == nil {
			t.Error("HandlerExited delivered nil for a killed handler")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("HandlerExited did not report the killed handler")
	}
	if resp, _ := post(t, h.HTTPURL()+"/api/Echo", "text/plain", "", nil); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("invocation without a handler answered %d, want 500", resp.StatusCode)
	}
}

// TestLogsAreRedacted: with a SAS connection string, queue polls that fail
// without an answer (the storage went away) log an error quoting the
// request URL; the host's log shows the queue's URL without the SAS.
func TestLogsAreRedacted(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	conn, err := az.SASConnectionString("rwdlacup", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, sas, _ := strings.Cut(conn, "SharedAccessSignature=")
	q, _ := url.ParseQuery(sas)
	sig := q.Get("sig")
	root := writeApp(t, map[string]string{
		"host.json": fastHostJSON,
		"functions/Take/function.json": `{"bindings": [
			{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "sas-logs"}]}`,
	})
	var logs lockedBuffer
	fh := newFakeHandler(t)
	startHost(t, root, &funchost.Options{HandlerURL: fh.srv.URL, Storage: conn,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	az.Stop()
	waitFor(t, "a failed queue poll in the log", func() bool { return strings.Contains(logs.String(), "queue poll failed") })
	out := logs.String()
	for _, s := range []string{sig, url.QueryEscape(sig)} {
		if strings.Contains(out, s) {
			t.Fatalf("the host's log shows the SAS:\n%s", out)
		}
	}
	if want := "/" + azuritetest.AccountName + "/sas-logs/messages"; !strings.Contains(out, want) {
		t.Errorf("the log does not name the queue (%s):\n%s", want, out)
	}
}

// lockedBuffer is a bytes.Buffer safe for the host's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
