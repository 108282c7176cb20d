package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// TestParseTestdata parses every testdata/*.json payload: the malformed-*
// files must fail with ErrMalformed, the others must match their golden
// rendering in testdata/golden/ (go test -update rewrites them).
func TestParseTestdata(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d payloads under testdata, want the full set", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := webhook.Parse(body)
			if strings.HasPrefix(name, "malformed-") {
				if !errors.Is(err, webhook.ErrMalformed) {
					t.Fatalf("Parse() error = %v, want ErrMalformed", err)
				}
				if got != nil {
					t.Errorf("Parse() returned %d notifications with an error", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			golden.CheckJSON(t, filepath.Join("testdata", "golden", name+".json"), got)
		})
	}
}

// TestParseFields pins the mapping of Graph's documented shapes (graph.md
// §1.5) field by field, independently of the golden files.
func TestParseFields(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 3, 19, 22, 11, 9, 952_000_000, time.UTC)
	tests := []struct {
		name string
		file string
		want []webhook.Notification
	}{
		{
			name: "change notification",
			file: "change-users.json",
			want: []webhook.Notification{{
				ID:                     "lsgTZMr9KwAAA",
				SubscriptionID:         "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
				ClientState:            "secretClientValue",
				ChangeType:             "updated",
				Resource:               "Users/7d2c1a5e-8f3b-4e1a-9c2d-0b6f4a1e2d3c",
				TenantID:               "84bd8158-6d4d-4958-8b9f-9d6445542f95",
				ResourceID:             "7d2c1a5e-8f3b-4e1a-9c2d-0b6f4a1e2d3c",
				ResourceType:           "#Microsoft.Graph.User",
				SubscriptionExpiration: exp,
			}},
		},
		{
			name: "lifecycle notification",
			file: "lifecycle.json",
			want: []webhook.Notification{{
				SubscriptionID:         "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
				ClientState:            "secretClientValue",
				TenantID:               "84bd8158-6d4d-4958-8b9f-9d6445542f95",
				LifecycleEvent:         webhook.LifecycleReauthorizationRequired,
				SubscriptionExpiration: time.Date(2026, 3, 20, 11, 0, 0, 0, time.UTC),
			}},
		},
		{
			name: "offsets and zoneless times are read as UTC",
			file: "lifecycle-mixed-events.json",
			want: []webhook.Notification{
				{SubscriptionID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", ClientState: "secretClientValue", TenantID: "84bd8158-6d4d-4958-8b9f-9d6445542f95", LifecycleEvent: webhook.LifecycleReauthorizationRequired, SubscriptionExpiration: time.Date(2026, 3, 20, 11, 0, 0, 0, time.UTC)},
				{SubscriptionID: "1b7e9a3c-5d2f-4c8e-a6b4-9f0e1d2c3b4a", ClientState: "otherSecret", TenantID: "84bd8158-6d4d-4958-8b9f-9d6445542f95", LifecycleEvent: webhook.LifecycleSubscriptionRemoved, Resource: "users", SubscriptionExpiration: time.Date(2026, 3, 20, 11, 0, 0, 0, time.UTC)},
				{SubscriptionID: "1b7e9a3c-5d2f-4c8e-a6b4-9f0e1d2c3b4a", ClientState: "otherSecret", TenantID: "84bd8158-6d4d-4958-8b9f-9d6445542f95", LifecycleEvent: webhook.LifecycleMissed, SubscriptionExpiration: time.Date(2026, 3, 20, 11, 0, 0, 0, time.UTC)},
			},
		},
		{
			name: "missing or null resourceData and an unparseable expiry are tolerated",
			file: "no-resourcedata.json",
			want: []webhook.Notification{
				{ID: "n1", SubscriptionID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", ClientState: "secretClientValue", ChangeType: "deleted", Resource: "Users/7d2c1a5e-8f3b-4e1a-9c2d-0b6f4a1e2d3c", TenantID: "84bd8158-6d4d-4958-8b9f-9d6445542f95"},
				{ID: "n2", SubscriptionID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", ClientState: "secretClientValue", ChangeType: "updated", Resource: "Users/0a1b2c3d"},
			},
		},
		{
			name: "unknown fields at every level are ignored",
			file: "unknown-fields.json",
			want: []webhook.Notification{{
				ID: "lsgTZMr9KwAAA", SubscriptionID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", ClientState: "secretClientValue",
				ChangeType: "updated", Resource: "Users/7d2c1a5e-8f3b-4e1a-9c2d-0b6f4a1e2d3c", TenantID: "84bd8158-6d4d-4958-8b9f-9d6445542f95",
				ResourceID: "7d2c1a5e-8f3b-4e1a-9c2d-0b6f4a1e2d3c", ResourceType: "#Microsoft.Graph.User", SubscriptionExpiration: exp,
			}},
		},
		{
			name: "whitespace around items",
			file: "whitespace.json",
			want: []webhook.Notification{{SubscriptionID: "s1", ChangeType: "updated"}},
		},
		{
			name: "empty batch",
			file: "empty-value.json",
			want: []webhook.Notification{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := webhook.Parse(body)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
			for i, n := range got {
				if n.IsLifecycle() != (n.LifecycleEvent != "") {
					t.Errorf("item %d: IsLifecycle() = %v with LifecycleEvent %q", i, n.IsLifecycle(), n.LifecycleEvent)
				}
			}
		})
	}
}

// batch returns a body of n minimal notifications, padded with spaces to at
// least pad bytes.
func batch(n, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"value":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"subscriptionId":"s","changeType":"updated"}`)
	}
	b.WriteString(`]}`)
	if b.Len() < pad {
		b.Write(bytes.Repeat([]byte{' '}, pad-b.Len()))
	}
	return b.Bytes()
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    []byte
		wantErr error
		wantN   int
	}{
		{"exactly MaxBody bytes", batch(1, webhook.MaxBody), nil, 1},
		{"MaxBody+1 bytes", batch(1, webhook.MaxBody+1), webhook.ErrTooLarge, 0},
		{"MaxBody+1 bytes of garbage is too large, not malformed", bytes.Repeat([]byte{'x'}, webhook.MaxBody+1), webhook.ErrTooLarge, 0},
		{"MaxItems items", batch(webhook.MaxItems, 0), nil, webhook.MaxItems},
		{"MaxItems+1 items", batch(webhook.MaxItems+1, 0), webhook.ErrTooLarge, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.Parse(tc.body)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Parse() error = %v, want %v", err, tc.wantErr)
			}
			if len(got) != tc.wantN {
				t.Errorf("Parse() returned %d notifications, want %d", len(got), tc.wantN)
			}
		})
	}
}

func TestClientStateEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		got, want string
		equal     bool
	}{
		{"equal", "s3cr3t-state", "s3cr3t-state", true},
		{"different", "s3cr3t-statf", "s3cr3t-state", false},
		{"prefix", "s3cr3t", "s3cr3t-state", false},
		{"longer", "s3cr3t-state-and-more", "s3cr3t-state", false},
		{"case differs", "S3CR3T-STATE", "s3cr3t-state", false},
		{"empty presented", "", "s3cr3t-state", false},
		{"empty stored never matches", "", "", false},
		{"empty stored, something presented", "anything", "", false},
		{"unicode equal", "ünïcødé-🔑", "ünïcødé-🔑", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := webhook.ClientStateEqual(tc.got, tc.want); got != tc.equal {
				t.Errorf("ClientStateEqual(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.equal)
			}
		})
	}
}

func TestValidationToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rawQuery string
		want     string
		ok       bool
	}{
		{"graph style", "validationToken=Validation%3A+Testing+client+application+reachability+for+subscription+Request-Id%3A+0a1b2c3d", "Validation: Testing client application reachability for subscription Request-Id: 0a1b2c3d", true},
		{"with function key", "code=abc%3D%3D&validationToken=tok%2Bwith%25", "tok+with%", true},
		{"decoded once only", "validationToken=%2525", "%25", true},
		{"absent", "code=abc", "", false},
		{"empty", "validationToken=", "", false},
		{"empty query", "", "", false},
		{"first of repeated", "validationToken=a&validationToken=b", "a", true},
		{"malformed neighbour", "x=%zz&validationToken=tok", "tok", true},
		{"name is case-sensitive", "validationtoken=tok", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := webhook.ValidationToken(tc.rawQuery)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ValidationToken(%q) = %q, %v; want %q, %v", tc.rawQuery, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestNotificationQueueForm pins the queue message form: flat, camelCase,
// no clientState once cleared, and it reads back unchanged.
func TestNotificationQueueForm(t *testing.T) {
	t.Parallel()
	n := webhook.Notification{
		ID: "n1", SubscriptionID: "sub", ChangeType: "updated", Resource: "Users/u1", TenantID: "t1",
		ResourceID: "u1", ResourceType: "#Microsoft.Graph.User",
		SubscriptionExpiration: time.Date(2026, 3, 19, 22, 11, 9, 952_000_000, time.UTC),
	}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"n1","subscriptionId":"sub","changeType":"updated","resource":"Users/u1","tenantId":"t1","resourceId":"u1","resourceType":"#Microsoft.Graph.User","subscriptionExpirationDateTime":"2026-03-19T22:11:09.952Z"}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("queue form mismatch (-want +got):\n%s", diff)
	}
	var back webhook.Notification
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(n, back); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	lc, err := json.Marshal(webhook.Notification{SubscriptionID: "sub", LifecycleEvent: webhook.LifecycleMissed})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"subscriptionId":"sub","lifecycleEvent":"missed"}`, string(lc)); diff != "" {
		t.Errorf("lifecycle queue form mismatch (-want +got):\n%s", diff)
	}
}

// TestStdlibOnly: the package must not depend on anything outside the
// standard library, least of all msgraph-sdk-go (style.md §2).
func TestStdlibOnly(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	self := "github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	var foreign []string
	for _, p := range strings.Fields(string(out)) {
		if p != self {
			foreign = append(foreign, p)
		}
	}
	if !strings.Contains(string(out), self) {
		t.Fatalf("go list did not list the package itself: %q", out)
	}
	if len(foreign) > 0 {
		t.Errorf("webhook depends on non-standard packages %v; it must stay stdlib-only", foreign)
	}
}
