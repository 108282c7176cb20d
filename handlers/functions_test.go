package handlers

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The deployment layout is guarded here: every
// functions/<Name>/function.json has a route and the reverse, the bindings
// the code uses are declared with the right type and direction (and no
// others), schedules come from app settings, and host.json starts
// "tenantwatch serve".

// schedules is the app setting behind each timer (design table).
var schedules = map[string]string{
	"PollDirectory":      "%PollDirectorySchedule%",
	"PollSignIns":        "%PollSignInsSchedule%",
	"DailySweep":         "%DailySweepSchedule%",
	"RenewSubscriptions": "%RenewSubscriptionsSchedule%",
	"DeliverAlerts":      "%DeliverAlertsSchedule%",
	"PollActivity":       "%PollActivitySchedule%",
}

// queues is the queue each queue binding uses, by function.
var queues = map[string]string{
	"GraphNotifications":    "graph-changes",
	"GraphLifecycle":        "graph-changes",
	"ProcessChanges":        "graph-changes",
	"ActivityNotifications": "activity-content",
	"ProcessActivity":       "activity-content",
}

type functionJSON struct {
	Bindings []map[string]any `json:"bindings"`
}

func readFunctionJSON(t *testing.T, name string) functionJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "functions", name, "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f functionJSON
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("functions/%s/function.json: %v", name, err)
	}
	return f
}

func TestFunctionFoldersMatchRoutes(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(filepath.Join("..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("functions/%s is not a folder; the host only reads folders one level below the app root", e.Name())
			continue
		}
		if _, err := os.Stat(filepath.Join("..", "functions", e.Name(), "function.json")); err != nil {
			t.Errorf("functions/%s has no function.json", e.Name())
		}
		folders = append(folders, e.Name())
	}
	routes := Names()
	slices.Sort(routes)
	if diff := cmp.Diff(routes, folders); diff != "" {
		t.Errorf("route table and functions/ folders differ (-routes +folders):\n%s", diff)
	}
}

func TestFunctionBindings(t *testing.T) {
	t.Parallel()
	settingRef := regexp.MustCompile(`^%[A-Za-z][A-Za-z0-9_]*%$`)
	for _, fn := range functions {
		t.Run(fn.name, func(t *testing.T) {
			t.Parallel()
			declared := readFunctionJSON(t, fn.name).Bindings
			byName := map[string]map[string]any{}
			for _, b := range declared {
				name, _ := b["name"].(string)
				if _, dup := byName[name]; dup {
					t.Errorf("binding %q declared twice", name)
				}
				byName[name] = b
			}
			var used []string
			for _, want := range fn.bindings {
				used = append(used, want.name)
				b, ok := byName[want.name]
				if !ok {
					t.Errorf("code uses binding %q, function.json does not declare it", want.name)
					continue
				}
				if b["type"] != want.typ || b["direction"] != want.direction {
					t.Errorf("binding %q is %v/%v, code expects %s/%s", want.name, b["type"], b["direction"], want.typ, want.direction)
				}
			}
			for name := range byName {
				if !slices.Contains(used, name) {
					t.Errorf("function.json declares binding %q the code never uses", name)
				}
			}
			for _, b := range declared {
				switch b["type"] {
				case "httpTrigger":
					if b["authLevel"] != "function" {
						t.Errorf("httpTrigger authLevel %v, want function", b["authLevel"])
					}
					want := []any{"post"} // Graph posts
					if fn.name == "Doctor" {
						want = []any{"get"} // it only reads
					}
					if diff := cmp.Diff(want, b["methods"]); diff != "" {
						t.Errorf("httpTrigger methods (-want +got):\n%s", diff)
					}
					if _, ok := b["route"]; ok {
						t.Errorf("httpTrigger sets a route; the default (function name) is expected")
					}
				case "queue", "queueTrigger":
					if b["queueName"] != queues[fn.name] || b["connection"] != "AzureWebJobsStorage" {
						t.Errorf("%s binding %v: want queueName %s, connection AzureWebJobsStorage", b["type"], b, queues[fn.name])
					}
				case "timerTrigger":
					s, _ := b["schedule"].(string)
					if !settingRef.MatchString(s) || s != schedules[fn.name] {
						t.Errorf("schedule %q, want the app-setting reference %q", s, schedules[fn.name])
					}
					// Not in production: on Flex Consumption it fires on every
					// scale-out and restart. A new installation subscribes on
					// its first PollDirectory instead.
					if _, ok := b["runOnStartup"]; ok {
						t.Errorf("runOnStartup is set; want it absent")
					}
				}
			}
		})
	}
}

func TestHostJSON(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	var host struct {
		Version         string `json:"version"`
		FunctionTimeout string `json:"functionTimeout"`
		CustomHandler   struct {
			Description struct {
				DefaultExecutablePath string   `json:"defaultExecutablePath"`
				Arguments             []string `json:"arguments"`
			} `json:"description"`
			EnableForwardingHTTPRequest *bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		ExtensionBundle struct {
			ID      string `json:"id"`
			Version string `json:"version"`
		} `json:"extensionBundle"`
		Extensions struct {
			Queues map[string]any `json:"queues"`
		} `json:"extensions"`
		Logging map[string]any `json:"logging"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&host); err != nil {
		t.Fatalf("host.json: %v", err)
	}
	d := host.CustomHandler.Description
	if d.DefaultExecutablePath != "tenantwatch" || !slices.Equal(d.Arguments, []string{"serve"}) {
		t.Errorf("customHandler starts %q %q, want tenantwatch [serve]", d.DefaultExecutablePath, d.Arguments)
	}
	if f := host.CustomHandler.EnableForwardingHTTPRequest; f == nil || *f {
		t.Errorf("enableForwardingHttpRequest must be present and false")
	}
	if host.Version != "2.0" || host.FunctionTimeout != "00:10:00" || host.Logging == nil {
		t.Errorf("version %q, functionTimeout %q, logging %v", host.Version, host.FunctionTimeout, host.Logging)
	}
	if host.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" || host.ExtensionBundle.Version != "[4.*, 5.0.0)" {
		t.Errorf("extensionBundle %+v", host.ExtensionBundle)
	}
	want := map[string]any{"maxDequeueCount": 5.0, "visibilityTimeout": "00:00:30", "batchSize": 16.0, "maxPollingInterval": "00:00:02", "messageEncoding": "base64"}
	if diff := cmp.Diff(want, host.Extensions.Queues); diff != "" {
		t.Errorf("extensions.queues (-want +got):\n%s", diff)
	}
}

// TestImports: handlers depends on the standard library, shared/graph/webhook,
// shared/activityfeed/feedhook, shared/tenant and shared/redact only —
// never on the Graph SDK, which only shared/graph imports.
func TestImports(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const mod = "github.com/tenantwatch/tenantwatch/"
	allowed := map[string]bool{mod + "handlers": true, mod + "shared/graph/webhook": true, mod + "shared/activityfeed/feedhook": true, mod + "shared/tenant": true, mod + "shared/redact": true}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, mod+"handlers") {
		t.Fatalf("go list did not list the package itself: %q", out)
	}
	for _, d := range deps {
		if !allowed[d] {
			t.Errorf("handlers depends on %s; allowed: stdlib, shared/graph/webhook, shared/activityfeed/feedhook, shared/tenant, shared/redact", d)
		}
	}
}
