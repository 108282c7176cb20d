package webhook_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// FuzzParse: Parse never panics, fails only with its two sentinels, honours
// its limits, and every notification it returns survives the queue round
// trip (json.Marshal, then json.Unmarshal) unchanged.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"value":[{"subscriptionId":"s","subscriptionExpirationDateTime":"0000-01-01T00:30:00+01:00"}]}`))
	f.Add([]byte(`{"value":[{"subscriptionId":"s","subscriptionExpirationDateTime":"9999-12-31T23:30:00-01:00"}]}`))
	f.Add([]byte(`{"value":[{"subscriptionId":"\xff\xfe","clientState":"\u0000"}]}`))
	f.Add([]byte(`{"Value":[{"SubscriptionId":"s"}],"value":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := webhook.Parse(body)
		if err != nil {
			if !errors.Is(err, webhook.ErrMalformed) && !errors.Is(err, webhook.ErrTooLarge) {
				t.Fatalf("Parse() error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			if got != nil {
				t.Fatalf("Parse() returned notifications with error %v", err)
			}
			return
		}
		if len(body) > webhook.MaxBody || len(got) > webhook.MaxItems {
			t.Fatalf("Parse() accepted %d bytes, %d items", len(body), len(got))
		}
		for i, n := range got {
			if !n.SubscriptionExpiration.IsZero() && n.SubscriptionExpiration.Location().String() != "UTC" {
				t.Errorf("item %d: expiry %v not in UTC", i, n.SubscriptionExpiration)
			}
			b, err := json.Marshal(n)
			if err != nil {
				t.Fatalf("item %d: marshal: %v", i, err)
			}
			var back webhook.Notification
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("item %d: unmarshal %s: %v", i, b, err)
			}
			if diff := cmp.Diff(n, back); diff != "" {
				t.Errorf("item %d: queue round trip changed it (-want +got):\n%s", i, diff)
			}
		}
	})
}
