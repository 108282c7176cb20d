package funchost_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenantwatch/tenantwatch/shared/funchost"
)

const minimalHostJSON = `{"version": "2.0"}`

const httpFunction = `{"bindings": [
  {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function", "methods": ["post"]},
  {"type": "http", "direction": "out", "name": "res"},
  {"type": "queue", "direction": "out", "name": "changes", "queueName": "graph-changes", "connection": "AzureWebJobsStorage"}
]}`

const timerFunction = `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "%PollSchedule%"}]}`

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string // function names, or
		err   string   // an error containing this
	}{
		{
			name: "repository layout",
			files: map[string]string{
				"host.json":                             fastHostJSON,
				"functions/Notify/function.json":        httpFunction,
				"functions/PollDirectory/function.json": timerFunction,
				"handlers/server.go":                    "package handlers",
			},
			want: []string{"Notify", "PollDirectory"},
		},
		{
			name: "dist layout ignores folders without function.json",
			files: map[string]string{
				"host.json":                   minimalHostJSON,
				"Notify/function.json":        httpFunction,
				"PollDirectory/function.json": timerFunction,
				".azurite/x":                  "",
				"out/report.html":             "",
			},
			want: []string{"Notify", "PollDirectory"},
		},
		{
			name:  "no host.json",
			files: map[string]string{"functions/Notify/function.json": httpFunction},
			err:   "host.json",
		},
		{
			name:  "host.json version",
			files: map[string]string{"host.json": `{"version": "1.0"}`, "Notify/function.json": httpFunction},
			err:   `version "1.0"`,
		},
		{
			name:  "HTTP forwarding",
			files: map[string]string{"host.json": `{"version": "2.0", "customHandler": {"enableForwardingHttpRequest": true}}`, "Notify/function.json": httpFunction},
			err:   "forwarding",
		},
		{
			name:  "bad queue settings",
			files: map[string]string{"host.json": `{"version": "2.0", "extensions": {"queues": {"batchSize": 64}}}`, "Notify/function.json": httpFunction},
			err:   "batchSize 64",
		},
		{
			name:  "polling below 100 ms",
			files: map[string]string{"host.json": `{"version": "2.0", "extensions": {"queues": {"maxPollingInterval": "00:00:00.050"}}}`, "Notify/function.json": httpFunction},
			err:   "maxPollingInterval",
		},
		{
			name: "missing function.json",
			files: map[string]string{
				"host.json":                      minimalHostJSON,
				"functions/Notify/function.json": httpFunction,
				"functions/Orphan/README.md":     "",
			},
			err: "Orphan: no function.json",
		},
		{
			name:  "no functions",
			files: map[string]string{"host.json": minimalHostJSON, "out/x": ""},
			err:   "no function folders",
		},
		{
			name:  "name mismatch",
			files: map[string]string{"host.json": minimalHostJSON, "Notify/function.json": `{"name": "Notification", "bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 * * * * *"}]}`},
			err:   `name "Notification" does not match its folder "Notify"`,
		},
		{
			name:  "invalid folder name",
			files: map[string]string{"host.json": minimalHostJSON, "1Notify/function.json": timerFunction},
			err:   "not a valid function name",
		},
		{
			name: "two triggers",
			files: map[string]string{"host.json": minimalHostJSON, "Twice/function.json": `{"bindings": [
				{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 * * * * *"},
				{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "q1"}]}`},
			err: "exactly one trigger binding, found 2",
		},
		{
			name:  "no trigger",
			files: map[string]string{"host.json": minimalHostJSON, "None/function.json": `{"bindings": [{"type": "queue", "direction": "out", "name": "q", "queueName": "q1"}]}`},
			err:   "exactly one trigger binding, found 0",
		},
		{
			name:  "unknown binding type",
			files: map[string]string{"host.json": minimalHostJSON, "Bus/function.json": `{"bindings": [{"type": "serviceBusTrigger", "direction": "in", "name": "m"}]}`},
			err:   `binding type "serviceBusTrigger" is not supported`,
		},
		{
			name:  "queue input",
			files: map[string]string{"host.json": minimalHostJSON, "Read/function.json": `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 * * * * *"}, {"type": "queue", "direction": "in", "name": "q", "queueName": "q1"}]}`},
			err:   `queue binding must have direction "out"`,
		},
		{
			// No function of the app writes a blob or a table row through
			// a binding (the report and the state use the SDKs), so
			// funchost implements neither output.
			name:  "blob output",
			files: map[string]string{"host.json": minimalHostJSON, "Write/function.json": `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 * * * * *"}, {"type": "blob", "direction": "out", "name": "b", "path": "c/x"}]}`},
			err:   `binding type "blob" is not supported`,
		},
		{
			name:  "table output",
			files: map[string]string{"host.json": minimalHostJSON, "Write/function.json": `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 * * * * *"}, {"type": "table", "direction": "out", "name": "t", "tableName": "findings"}]}`},
			err:   `binding type "table" is not supported`,
		},
		{
			name: "duplicate binding names",
			files: map[string]string{"host.json": minimalHostJSON, "Dup/function.json": `{"bindings": [
				{"type": "httpTrigger", "direction": "in", "name": "req"},
				{"type": "http", "direction": "out", "name": "Req"}]}`},
			err: `binding name "Req" used twice`,
		},
		{
			name:  "queue without queueName",
			files: map[string]string{"host.json": minimalHostJSON, "Q/function.json": `{"bindings": [{"type": "queueTrigger", "direction": "in", "name": "msg"}]}`},
			err:   "queueTrigger binding needs queueName",
		},
		{
			name:  "bad literal schedule",
			files: map[string]string{"host.json": minimalHostJSON, "T/function.json": `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "*/5 * * * *"}]}`},
			err:   "want 6 fields",
		},
		{
			name:  "malformed function.json",
			files: map[string]string{"host.json": minimalHostJSON, "T/function.json": `{"bindings": [`},
			err:   "T/function.json",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app, err := funchost.Load(writeApp(t, tc.files))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Load error = %v, want one containing %q", err, tc.err)
				}
				if !errors.Is(err, funchost.ErrApp) {
					t.Errorf("Load error %v does not wrap ErrApp", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range app.Functions {
				names = append(names, f.Name)
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("functions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadParsesHostJSON(t *testing.T) {
	t.Parallel()
	app, err := funchost.Load(writeApp(t, map[string]string{"host.json": fastHostJSON, "Notify/function.json": httpFunction}))
	if err != nil {
		t.Fatal(err)
	}
	want := funchost.HostJSON{
		Version:         "2.0",
		FunctionTimeout: 30 * time.Second,
		CustomHandler:   funchost.CustomHandler{DefaultExecutablePath: "handler", Arguments: []string{"serve"}},
		Queues: funchost.QueuesOptions{
			MaxPollingInterval: 200 * time.Millisecond, BatchSize: 4, NewBatchThreshold: 2,
			MaxDequeueCount: 3, MessageEncoding: "base64",
		},
	}
	if diff := cmp.Diff(want, app.Host); diff != "" {
		t.Errorf("host.json (-want +got):\n%s", diff)
	}
	defaults, err := funchost.Load(writeApp(t, map[string]string{"host.json": minimalHostJSON, "Notify/function.json": httpFunction}))
	if err != nil {
		t.Fatal(err)
	}
	wantQ := funchost.QueuesOptions{MaxPollingInterval: time.Minute, BatchSize: 16, NewBatchThreshold: 8, MaxDequeueCount: 5, MessageEncoding: "base64"}
	if diff := cmp.Diff(wantQ, defaults.Host.Queues); diff != "" {
		t.Errorf("queue defaults (-want +got):\n%s", diff)
	}
}

func TestParseTimeSpan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"00:01:00", time.Minute, false},
		{"00:00:00.1", 100 * time.Millisecond, false},
		{"00:00:02.250", 2250 * time.Millisecond, false},
		{"1.02:00:00", 26 * time.Hour, false},
		{"00:10:00", 10 * time.Minute, false},
		{"00:60:00", 0, true},
		{"24:00:00", 0, true},
		{"5m", 0, true},
		{"106750.23:59:59.9999999", 106751*24*time.Hour - 100, false},
		{"106751.00:00:00", 0, true},               // with a day's time it would not fit
		{"213504.00:00:00", 0, true},               // wrapped around to a small duration before
		{"99999999999999999999.00:00:00", 0, true}, // past int64: read as 0 days before
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := funchost.ParseTimeSpan(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		files    map[string]string
		settings map[string]string
		sentinel error
		want     string
	}{
		{
			name:     "unknown setting in a schedule",
			files:    map[string]string{"host.json": minimalHostJSON, "PollDirectory/function.json": timerFunction},
			sentinel: funchost.ErrSetting,
			want:     "PollDirectory: funchost: app setting: timer.schedule: app setting PollSchedule is not set",
		},
		{
			name:     "setting expands to a bad schedule",
			files:    map[string]string{"host.json": minimalHostJSON, "PollDirectory/function.json": timerFunction},
			settings: map[string]string{"PollSchedule": "*/5 * * * *"},
			sentinel: funchost.ErrSchedule,
			want:     "want 6 fields",
		},
		{
			name: "unknown setting in a queue name",
			files: map[string]string{"host.json": minimalHostJSON, "Q/function.json": `{"bindings": [
				{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "%ChangesQueue%"}]}`},
			sentinel: funchost.ErrSetting,
			want:     "msg.queueName: app setting ChangesQueue is not set",
		},
		{
			name: "invalid queue name after expansion",
			files: map[string]string{"host.json": minimalHostJSON, "Q/function.json": `{"bindings": [
				{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "%ChangesQueue%"}]}`},
			settings: map[string]string{"ChangesQueue": "Graph_Changes"},
			sentinel: funchost.ErrSetting,
			want:     `"Graph_Changes" is not a valid queue name`,
		},
		{
			name:     "storage needed",
			files:    map[string]string{"host.json": minimalHostJSON, "Notify/function.json": httpFunction},
			settings: map[string]string{"AzureWebJobsStorage": ""},
			sentinel: funchost.ErrNoStorage,
			want:     "Notify use queue bindings",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app, err := funchost.Load(writeApp(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			_, err = funchost.New(app, &funchost.Options{Settings: tc.settings})
			if err == nil || !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want %v containing %q", err, tc.sentinel, tc.want)
			}
		})
	}
}

func TestLocalSettingsAndExpansion(t *testing.T) {
	t.Parallel()
	root := writeApp(t, map[string]string{
		"host.json":                   minimalHostJSON,
		"PollDirectory/function.json": timerFunction,
		"local.settings.json":         `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "custom", "PollSchedule": "not a schedule"}}`,
	})
	app, err := funchost.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	// local.settings.json alone: its bad schedule is used.
	if _, err := funchost.New(app, nil); !errors.Is(err, funchost.ErrSchedule) {
		t.Errorf("New with local.settings.json = %v, want ErrSchedule", err)
	}
	// Options.Settings win over local.settings.json.
	if _, err := funchost.New(app, &funchost.Options{Settings: map[string]string{"PollSchedule": "0 */2 * * * *"}}); err != nil {
		t.Errorf("New with Settings = %v", err)
	}
}

func TestExpandStorage(t *testing.T) {
	t.Parallel()
	if got := funchost.ExpandStorage("UseDevelopmentStorage=true"); got != funchost.DevelopmentStorage {
		t.Errorf("ExpandStorage(shortcut) = %q", got)
	}
	if !strings.Contains(funchost.DevelopmentStorage, "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;") {
		t.Errorf("DevelopmentStorage lacks the queue endpoint: %s", funchost.DevelopmentStorage)
	}
	other := "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eA==;"
	if got := funchost.ExpandStorage(other); got != other {
		t.Errorf("ExpandStorage changed %q to %q", other, got)
	}
}
