package graphsim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// tinyTenant is a scenario written inline: the emulator serves any data.
func tinyTenant(extra map[string]string) *graphsim.Scenario {
	files := fstest.MapFS{
		"organization.json": {Data: []byte(`[{"id": "11111111-2222-4333-8444-555555555555", "displayName": "Tiny",
			"verifiedDomains": [{"name": "tiny.example", "isDefault": true}]}]`)},
		"users.json": {Data: []byte(`[{"//": "a note for readers, dropped", "id": "aaaaaaaa-0000-4000-8000-000000000001",
			"displayName": "Ada", "userPrincipalName": "ada@tiny.example", "accountEnabled": true, "userType": "Member",
			"createdDateTime": "now-400d"}]`)},
	}
	for name, data := range extra {
		files[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return &graphsim.Scenario{Name: "tiny", Data: files}
}

const ada = "aaaaaaaa-0000-4000-8000-000000000001"

func TestNewNeedsAScenario(t *testing.T) {
	for _, o := range []*graphsim.Options{nil, {}} {
		if _, err := graphsim.New(o); err == nil || !strings.Contains(err.Error(), "Options.Scenario") {
			t.Errorf("New(%v) = %v, want an error naming Options.Scenario", o, err)
		}
	}
}

func TestAnyTenantData(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Scenario: tinyTenant(nil), Users: 2})
	h := sim.Handler()
	users := listAll(t, h, "/v1.0/users?%24select=id,displayName,createdDateTime")
	if len(users) != 3 || users[0]["id"] != ada || users[0]["createdDateTime"] != "2025-10-22T12:00:00Z" {
		t.Errorf("users %v", users)
	}
	if sps := listAll(t, h, "/v1.0/servicePrincipals"); len(sps) != 0 {
		t.Errorf("a missing file is an empty collection: %v", sps)
	}
	if sim.TenantID() != "11111111-2222-4333-8444-555555555555" || len(sim.AttackSteps()) != 0 {
		t.Errorf("tenant %s, steps %v", sim.TenantID(), sim.AttackSteps())
	}

	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"a file that is no collection", map[string]string{"user.json": `[]`}, "user.json: not a collection"},
		{"no organization", map[string]string{"organization.json": `[]`}, "no organization"},
		{"not an array", map[string]string{"namedLocations.json": `{}`}, "namedLocations.json: want a JSON array"},
		{"a sign-in of nobody", map[string]string{"signIns.json": `[{"id": "s1", "createdDateTime": "now-1h", "userId": "nobody"}]`}, "unknown user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := graphsim.New(&graphsim.Options{Scenario: tinyTenant(tc.files), Now: testNow})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestChange: the changes of one Change show together, their users are
// notified once, and reads return copies without generated objects.
func TestChange(t *testing.T) {
	sim, _ := newClockedSim(t, &graphsim.Options{Scenario: tinyTenant(nil), AllowHTTPNotificationURL: true, Users: 5})
	h := sim.Handler()
	rc := newReceiver(t, "echo")
	r, sub := createSub(t, h, subscriptionBody(rc, "users", nil))
	if r.status != 201 {
		t.Fatalf("subscription: %d %s", r.status, r.body)
	}
	v := sim.Version()
	notified, err := sim.Change(func(tx *graphsim.Tx) error {
		if _, err := tx.Update(graphsim.KindUser, ada, graphsim.Object{{"jobTitle", "Fellow"}}); err != nil {
			return err
		}
		if _, err := tx.Update(graphsim.KindUser, ada, graphsim.Object{{"department", "Research"}, {"officeLocation", "Brussels"}}); err != nil {
			return err
		}
		entry, err := tx.AppendLog(graphsim.LogDirectoryAudits, graphsim.Object{{"id", "audit-1"}, {"activityDateTime", "2026-11-26T12:00:00Z"},
			{"activityDisplayName", "Update user"}})
		if err != nil {
			return err
		}
		if entry.Str("activityDateTime") != "2026-11-26T12:00:00.0000000Z" {
			t.Errorf("appended entry %v", entry)
		}
		users := tx.Objects(string(graphsim.KindUser))
		if len(users) != 1 || users[0].Str("jobTitle") != "Fellow" {
			t.Errorf("Objects(users) = %v: want Ada as changed so far, without the generated users", users)
		}
		users[0].Set("jobTitle", "Director") // a copy: changes nothing
		if u, _ := tx.Lookup(graphsim.KindUser, ada); u.Str("jobTitle") != "Fellow" {
			t.Errorf("Lookup after changing a copy: %v", u)
		}
		if audits := tx.Objects(graphsim.LogDirectoryAudits); len(audits) != 1 || audits[0].Str("id") != "audit-1" {
			t.Errorf("Objects(directoryAudits) = %v", audits)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{sub["id"].(string)}, notified); diff != "" {
		t.Errorf("notified (-want +got):\n%s", diff)
	}
	if sim.Version() != v+3 {
		t.Errorf("version %d → %d, want one per change", v, sim.Version())
	}
	wait(t, sim)
	if notes := rc.notifications(); len(notes) != 1 || decodeNote(t, notes[0]).Value[0].ResourceData.ObjectID != ada {
		t.Errorf("notifications %q, want one for Ada", notes)
	}
	u, _ := sim.Get(graphsim.KindUser, ada)
	if u["jobTitle"] != "Fellow" || u["department"] != "Research" {
		t.Errorf("user %v", u)
	}

	// An error stops the function; the changes made before it stay and are notified.
	boom := errors.New("boom")
	notified, err = sim.Change(func(tx *graphsim.Tx) error {
		if _, err := tx.Update(graphsim.KindUser, ada, graphsim.Object{{"jobTitle", "Emeritus"}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || len(notified) != 1 {
		t.Errorf("Change = %v, %v", notified, err)
	}
	wait(t, sim)
}

// fakeStory is a story of one step that renames Ada.
type fakeStory struct{ s *graphsim.Server }

func (f *fakeStory) Steps() []string { return []string{"rename"} }

func (f *fakeStory) Run(ctx context.Context, step string) (graphsim.AttackResult, error) {
	res := graphsim.AttackResult{Step: step}
	notified, err := f.s.Change(func(tx *graphsim.Tx) error {
		_, err := tx.Update(graphsim.KindUser, ada, graphsim.Object{{"displayName", "Ada L."}})
		return err
	})
	res.Notified = notified
	return res, err
}

// TestAttackDispatchesToTheStory: Attack and the admin endpoint run the
// loaded scenario's steps and refuse any other.
func TestAttackDispatchesToTheStory(t *testing.T) {
	sc := tinyTenant(nil)
	sc.Story = func(s *graphsim.Server) (graphsim.Story, error) { return &fakeStory{s: s}, nil }
	sim := newSim(t, &graphsim.Options{Scenario: sc})
	h := sim.Handler()
	if diff := cmp.Diff([]string{"rename"}, sim.AttackSteps()); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if r := send(t, h, http.MethodGet, base+"/_graphsim/attack", "", nil); r.status != 200 || strings.TrimSpace(string(r.body)) != `["rename"]` {
		t.Errorf("GET attack: %d %s", r.status, r.body)
	}
	if r := send(t, h, http.MethodPost, base+graphsim.AdminAttackPath+"rename", "", nil); r.status != 200 {
		t.Errorf("POST rename: %d %s", r.status, r.body)
	}
	if u, _ := sim.Get(graphsim.KindUser, ada); u["displayName"] != "Ada L." {
		t.Errorf("the step did not run: %v", u)
	}
	if _, err := sim.Attack(t.Context(), "disable-audit"); !errors.Is(err, graphsim.ErrUnknownStep) {
		t.Errorf("another scenario's step: %v", err)
	}

	bare := newSim(t, &graphsim.Options{Scenario: tinyTenant(nil)})
	if _, err := bare.Attack(t.Context(), "rename"); !errors.Is(err, graphsim.ErrUnknownStep) || !strings.Contains(err.Error(), "no attack steps") {
		t.Errorf("a scenario without a story: %v", err)
	}
	if r := send(t, bare.Handler(), http.MethodGet, base+"/_graphsim/attack", "", nil); strings.TrimSpace(string(r.body)) != `[]` {
		t.Errorf("GET attack without a story: %s", r.body)
	}
	if r := send(t, bare.Handler(), http.MethodPost, base+graphsim.AdminAttackPath+"rename", "", nil); r.status != 404 {
		t.Errorf("POST without a story: %d", r.status)
	}
}
