package graphsim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

type changeNote struct {
	Value []struct {
		SubscriptionID                 string `json:"subscriptionId"`
		SubscriptionExpirationDateTime string `json:"subscriptionExpirationDateTime"`
		ChangeType                     string `json:"changeType"`
		Resource                       string `json:"resource"`
		ResourceData                   struct {
			Type           string `json:"@odata.type"`
			ID             string `json:"@odata.id"`
			ObjectID       string `json:"id"`
			OrganizationID string `json:"organizationId"`
		} `json:"resourceData"`
		ClientState    *string `json:"clientState"`
		TenantID       string  `json:"tenantId"`
		LifecycleEvent string  `json:"lifecycleEvent"`
	} `json:"value"`
}

func decodeNote(t testing.TB, b []byte) changeNote {
	t.Helper()
	var n changeNote
	if err := json.Unmarshal(b, &n); err != nil || len(n.Value) != 1 {
		t.Fatalf("notification %s: %v", b, err)
	}
	return n
}

const helenaID = "e938aa24-4f2a-4735-b38d-c431ab9db57c"

func TestChangeNotifications(t *testing.T) {
	cases := []struct {
		name       string
		resource   string
		changeType string
		change     func(*graphsim.Server) error
		wantType   string // "" = no notification
		wantRes    string
		odataType  string
	}{
		{"user updated", "users", "updated,deleted", func(s *graphsim.Server) error {
			_, err := s.Update(graphsim.KindUser, helenaID, map[string]any{"accountEnabled": false})
			return err
		}, "updated", "Users/" + helenaID, "#Microsoft.Graph.User"},
		{"user created arrives as updated", "users", "updated", func(s *graphsim.Server) error {
			_, err := s.Create(graphsim.KindUser, map[string]any{"id": "0c0ffee0-0000-4000-8000-000000000009", "displayName": "X"})
			return err
		}, "updated", "Users/0c0ffee0-0000-4000-8000-000000000009", "#Microsoft.Graph.User"},
		{"user soft-deleted arrives as updated", "users", "updated", func(s *graphsim.Server) error {
			return s.Delete(graphsim.KindUser, helenaID, false)
		}, "updated", "Users/" + helenaID, "#Microsoft.Graph.User"},
		{"user deleted for good", "users", "deleted", func(s *graphsim.Server) error {
			return s.Delete(graphsim.KindUser, helenaID, true)
		}, "deleted", "Users/" + helenaID, "#Microsoft.Graph.User"},
		{"update not subscribed", "users", "deleted", func(s *graphsim.Server) error {
			_, err := s.Update(graphsim.KindUser, helenaID, map[string]any{"accountEnabled": false})
			return err
		}, "", "", ""},
		{"unchanged value: no notification", "users", "updated", func(s *graphsim.Server) error {
			_, err := s.Update(graphsim.KindUser, helenaID, map[string]any{"accountEnabled": true})
			return err
		}, "", "", ""},
		{"group updated", "groups", "updated", func(s *graphsim.Server) error {
			_, err := s.Update(graphsim.KindGroup, "5c8d1f3a-6e2b-4a9d-b7c1-0e4f8a2d6b95", map[string]any{"description": "R&D"})
			return err
		}, "updated", "Groups/5c8d1f3a-6e2b-4a9d-b7c1-0e4f8a2d6b95", "#Microsoft.Graph.Group"},
		{"service principals are not notified", "users", "updated,deleted", func(s *graphsim.Server) error {
			_, err := s.Update(graphsim.KindServicePrincipal, "085f1a8d-c570-4cb1-81c9-196bb010274d", map[string]any{"replyUrls": []any{}})
			return err
		}, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true})
			rc := newReceiver(t, "echo")
			if r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, tc.resource, map[string]any{"changeType": tc.changeType})); r.status != 201 {
				t.Fatalf("subscribe: %d %s", r.status, r.body)
			}
			if err := tc.change(sim); err != nil {
				t.Fatal(err)
			}
			wait(t, sim)
			notes := rc.notifications()
			if tc.wantType == "" {
				if len(notes) != 0 {
					t.Fatalf("unexpected notifications %s", notes)
				}
				return
			}
			if len(notes) != 1 {
				t.Fatalf("%d notifications, want 1", len(notes))
			}
			n := decodeNote(t, notes[0]).Value[0]
			if n.ChangeType != tc.wantType || n.Resource != tc.wantRes || n.ResourceData.ID != tc.wantRes ||
				n.ResourceData.Type != tc.odataType || n.TenantID != sim.TenantID() || n.ResourceData.OrganizationID != sim.TenantID() ||
				n.ClientState == nil || *n.ClientState != "s3cr3t-client-state" {
				t.Errorf("notification %s", notes[0])
			}
			d := sim.Deliveries()
			if len(d) != 1 || d[0].Status != http.StatusAccepted || d[0].Kind != "change" || d[0].URL != rc.srv.URL+"/api/GraphNotifications" {
				t.Errorf("deliveries %+v", d)
			}
			if sim.Stats().Notifications[http.StatusAccepted] != 1 {
				t.Errorf("stats %+v", sim.Stats().Notifications)
			}
		})
	}
}

func TestChangeNotificationGolden(t *testing.T) {
	sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, Seed: 1})
	rc := newReceiver(t, "echo")
	createSub(t, sim.Handler(), subscriptionBody(rc, "users", map[string]any{"lifecycleNotificationUrl": rc.srv.URL + "/lc"}))
	if _, err := sim.Update(graphsim.KindUser, helenaID, map[string]any{"jobTitle": "Chair"}); err != nil {
		t.Fatal(err)
	}
	wait(t, sim)
	golden.Check(t, filepath.Join("testdata", "golden", "notification-change.json"), normalise(t, rc.notifications()[0]))
	if err := sim.SendLifecycle(sim.Subscriptions()[0].ID, graphsim.LifecycleReauthorizationRequired); err != nil {
		t.Fatal(err)
	}
	wait(t, sim)
	golden.Check(t, filepath.Join("testdata", "golden", "notification-lifecycle.json"), normalise(t, rc.notifications()[1]))
}

func TestDuplicateNotifications(t *testing.T) {
	sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, DuplicateNotifications: true})
	rc := newReceiver(t, "echo")
	createSub(t, sim.Handler(), subscriptionBody(rc, "users", nil))
	if _, err := sim.Update(graphsim.KindUser, helenaID, map[string]any{"jobTitle": "Chair"}); err != nil {
		t.Fatal(err)
	}
	wait(t, sim)
	notes := rc.notifications()
	if len(notes) != 2 || string(notes[0]) != string(notes[1]) {
		t.Fatalf("want the same notification twice, got %q", notes)
	}
	copies := map[int]bool{}
	for _, d := range sim.Deliveries() {
		copies[d.Copy] = true
	}
	if !copies[1] || !copies[2] {
		t.Errorf("deliveries %+v", sim.Deliveries())
	}
}

func TestLifecycle(t *testing.T) {
	setup := func(t *testing.T) (*graphsim.Server, *clock, *receiver, string) {
		sim, clk := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true})
		rc := newReceiver(t, "echo")
		_, m := createSub(t, sim.Handler(), subscriptionBody(rc, "users", map[string]any{"lifecycleNotificationUrl": rc.srv.URL + "/lc?code=x"}))
		return sim, clk, rc, m["id"].(string)
	}
	update := func(t *testing.T, sim *graphsim.Server, title string) {
		if _, err := sim.Update(graphsim.KindUser, helenaID, map[string]any{"jobTitle": title}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("reauthorizationRequired pauses until reauthorize", func(t *testing.T) {
		sim, _, rc, id := setup(t)
		if err := sim.SendLifecycle(id, graphsim.LifecycleReauthorizationRequired); err != nil {
			t.Fatal(err)
		}
		wait(t, sim)
		if n := decodeNote(t, rc.notifications()[0]).Value[0]; n.LifecycleEvent != "reauthorizationRequired" || n.SubscriptionID != id {
			t.Fatalf("lifecycle notification %s", rc.notifications()[0])
		}
		if d := sim.Deliveries(); len(d) != 1 || d[0].Kind != "lifecycle" || d[0].URL != rc.srv.URL+"/lc" {
			t.Errorf("deliveries %+v", d)
		}
		update(t, sim, "Chair")
		wait(t, sim)
		if len(rc.notifications()) != 1 || !sim.Subscriptions()[0].Paused {
			t.Fatalf("paused subscription was notified: %q", rc.notifications())
		}
		if r := send(t, sim.Handler(), http.MethodPost, subsURL+"/"+id+"/reauthorize", "", nil); r.status != 204 {
			t.Fatal(r.status)
		}
		wait(t, sim)
		if notes := rc.notifications(); len(notes) != 2 || decodeNote(t, notes[1]).Value[0].ChangeType != "updated" {
			t.Errorf("held notification not delivered after reauthorize: %q", notes)
		}
	})
	t.Run("held over four hours: dropped", func(t *testing.T) {
		sim, clk, rc, id := setup(t)
		if err := sim.SendLifecycle(id, graphsim.LifecycleReauthorizationRequired); err != nil {
			t.Fatal(err)
		}
		update(t, sim, "Chair")
		clk.Advance(4*time.Hour + time.Minute)
		update(t, sim, "Chair again")
		renew := `{"expirationDateTime":"` + testNow.Add(40*time.Hour).Format(time.RFC3339) + `"}`
		if r := send(t, sim.Handler(), http.MethodPatch, subsURL+"/"+id, renew, nil); r.status != 200 {
			t.Fatal(r.status)
		}
		wait(t, sim)
		if notes := rc.notifications(); len(notes) != 2 {
			t.Errorf("want the lifecycle and the recent change only, got %q", notes)
		}
		dropped := 0
		for _, d := range sim.Deliveries() {
			if d.Error != "" && d.Status == 0 {
				dropped++
			}
		}
		if dropped != 1 {
			t.Errorf("%d dropped deliveries recorded, want 1: %+v", dropped, sim.Deliveries())
		}
	})
	t.Run("subscriptionRemoved deletes the subscription", func(t *testing.T) {
		sim, _, rc, id := setup(t)
		if err := sim.SendLifecycle(id, graphsim.LifecycleSubscriptionRemoved); err != nil {
			t.Fatal(err)
		}
		wait(t, sim)
		if len(sim.Subscriptions()) != 0 || len(rc.notifications()) != 1 {
			t.Errorf("subscriptions %v, notifications %q", sim.Subscriptions(), rc.notifications())
		}
	})
	t.Run("errors", func(t *testing.T) {
		sim, _, rc, id := setup(t)
		if err := sim.SendLifecycle(id, "renamed"); !errors.Is(err, graphsim.ErrInvalid) {
			t.Errorf("unknown event: %v", err)
		}
		if err := sim.SendLifecycle("nope", graphsim.LifecycleMissed); !errors.Is(err, graphsim.ErrNotFound) {
			t.Errorf("unknown subscription: %v", err)
		}
		_, m := createSub(t, sim.Handler(), subscriptionBody(rc, "groups", nil))
		if err := sim.SendLifecycle(m["id"].(string), graphsim.LifecycleMissed); !errors.Is(err, graphsim.ErrNoLifecycleURL) {
			t.Errorf("no lifecycle URL: %v", err)
		}
	})
	t.Run("admin endpoint", func(t *testing.T) {
		sim, _, rc, id := setup(t)
		h := sim.Handler()
		cases := []struct {
			method, path string
			status       int
		}{
			{http.MethodPost, graphsim.AdminLifecyclePath + "?subscription=" + id + "&event=missed", 202},
			{http.MethodPost, graphsim.AdminLifecyclePath + "?subscription=nope&event=missed", 404},
			{http.MethodPost, graphsim.AdminLifecyclePath + "?subscription=" + id + "&event=bogus", 400},
			{http.MethodGet, graphsim.AdminLifecyclePath, 405},
		}
		for _, tc := range cases {
			if r := send(t, h, tc.method, base+tc.path, "", nil); r.status != tc.status {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
			}
		}
		wait(t, sim)
		if len(rc.notifications()) != 1 {
			t.Errorf("notifications %q", rc.notifications())
		}
		var subs []graphsim.SubscriptionInfo
		if err := json.Unmarshal(get(t, h, base+graphsim.AdminSubscriptionsPath).body, &subs); err != nil || len(subs) != 1 || subs[0].ID != id {
			t.Errorf("admin subscriptions %v %v", subs, err)
		}
		var dels []graphsim.Delivery
		if err := json.Unmarshal(get(t, h, base+graphsim.AdminDeliveriesPath).body, &dels); err != nil || len(dels) != 1 {
			t.Errorf("admin deliveries %v %v", dels, err)
		}
		if st := sim.Stats(); st.Requests["/subscriptions"] != 1 || st.Total != 1 {
			t.Errorf("admin requests were counted: %+v", st)
		}
	})
}

func TestDeliveryFailuresRecorded(t *testing.T) {
	sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, DeliveryTimeout: 100 * time.Millisecond})
	rc := newReceiver(t, "echo")
	createSub(t, sim.Handler(), subscriptionBody(rc, "users", nil))
	rc.srv.Close() // the endpoint goes away
	if _, err := sim.Update(graphsim.KindUser, helenaID, map[string]any{"jobTitle": "Chair"}); err != nil {
		t.Fatal(err)
	}
	wait(t, sim)
	d := sim.Deliveries()
	if len(d) != 1 || d[0].Status != 0 || d[0].Error == "" {
		t.Errorf("deliveries %+v", d)
	}
	if diff := cmp.Diff(map[int]int{0: 1}, sim.Stats().Notifications); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}
