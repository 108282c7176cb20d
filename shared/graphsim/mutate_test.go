package graphsim_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

func TestMutationErrors(t *testing.T) {
	sim := newSim(t, nil)
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"unknown kind", func() error { _, err := sim.Update("mailboxes", helenaID, map[string]any{"x": 1}); return err }, graphsim.ErrInvalid},
		{"unknown property", func() error {
			_, err := sim.Update(graphsim.KindUser, helenaID, map[string]any{"shoeSize": 44})
			return err
		}, graphsim.ErrInvalid},
		{"id changed", func() error {
			_, err := sim.Update(graphsim.KindUser, helenaID, map[string]any{"id": "other"})
			return err
		}, graphsim.ErrInvalid},
		{"unknown user", func() error {
			_, err := sim.Update(graphsim.KindUser, "00000000-0000-0000-0000-000000000000", map[string]any{"jobTitle": "x"})
			return err
		}, graphsim.ErrNotFound},
		{"duplicate id", func() error {
			_, err := sim.Create(graphsim.KindUser, map[string]any{"id": helenaID})
			return err
		}, graphsim.ErrInvalid},
		{"delete unknown", func() error { return sim.Delete(graphsim.KindApplication, "nope", false) }, graphsim.ErrNotFound},
		{"log entry without time", func() error {
			return sim.AppendLog(graphsim.LogDirectoryAudits, map[string]any{"id": "x1"})
		}, graphsim.ErrInvalid},
		{"log entry reusing an id", func() error {
			return sim.AppendLog(graphsim.LogSignIns, map[string]any{"id": "f8a7695f-30ac-4da4-998e-a31f6bb0129d",
				"createdDateTime": "2026-11-26T12:00:00Z", "userId": helenaID})
		}, graphsim.ErrInvalid},
		{"sign-in of an unknown user", func() error {
			return sim.AppendLog(graphsim.LogSignIns, map[string]any{"id": "s1", "createdDateTime": "2026-11-26T12:00:00Z", "userId": "nobody"})
		}, graphsim.ErrInvalid},
		{"unknown log", func() error { return sim.AppendLog("mail", map[string]any{"id": "m"}) }, graphsim.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	if sim.Version() != 0 {
		t.Errorf("failed changes moved the version to %d", sim.Version())
	}
}

func TestMutationsShowInListEndpoints(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 25})
	h := sim.Handler()
	synthetic := listAll(t, h, "/v1.0/users?%24select=id,jobTitle&%24top=999")[40]["id"].(string)
	cur, ok := sim.Get(graphsim.KindUser, synthetic)
	if !ok {
		t.Fatal("Get: no synthetic user")
	}
	changed, err := sim.Update(graphsim.KindUser, synthetic, map[string]any{"jobTitle": "Head of Nothing", "department": cur["department"]})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"jobTitle"}, changed); diff != "" {
		t.Errorf("changed properties (-want +got):\n%s", diff)
	}
	if v := sim.Version(); v != 1 {
		t.Errorf("version %d after one change", v)
	}
	if c, _ := sim.Update(graphsim.KindUser, synthetic, map[string]any{"jobTitle": "Head of Nothing"}); len(c) != 0 || sim.Version() != 1 {
		t.Errorf("an unchanged value counted as a change: %v, version %d", c, sim.Version())
	}
	if err := sim.Delete(graphsim.KindUser, helenaID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Create(graphsim.KindServicePrincipal, map[string]any{"displayName": "Rogue App", "appId": "11111111-2222-4333-8444-555555555555"}); err != nil {
		t.Fatal(err)
	}
	users := listAll(t, h, "/v1.0/users?%24select=id,jobTitle&%24top=7")
	if len(users) != 36+25-1 {
		t.Errorf("%d users after deleting one", len(users))
	}
	for _, u := range users {
		if u["id"] == helenaID {
			t.Error("deleted user still listed")
		}
		if u["id"] == synthetic && u["jobTitle"] != "Head of Nothing" {
			t.Errorf("synthetic user not updated: %v", u)
		}
	}
	if _, ok := sim.Get(graphsim.KindUser, helenaID); ok {
		t.Error("Get returns a deleted user")
	}
	sps := listAll(t, h, "/v1.0/servicePrincipals?%24select=id,displayName&%24top=5")
	if len(sps) != 29 || sps[28]["displayName"] != "Rogue App" {
		t.Errorf("created SP: %d SPs, last %v", len(sps), sps[len(sps)-1])
	}
}

func TestAppendedLogsNewestFirstAndFiltered(t *testing.T) {
	sim, clk := newClockedSim(t, nil)
	h := sim.Handler()
	// Start paging the audit log, then append: the session keeps its view.
	first := decodePage(t, get(t, h, base+"/v1.0/auditLogs/directoryAudits?%24top=5"))
	for i := 0; i < 3; i++ {
		clk.Advance(time.Minute)
		if err := sim.AppendLog(graphsim.LogDirectoryAudits, map[string]any{
			"id": fmt.Sprintf("Directory_test_%d", i), "activityDateTime": sim.Clock().Format(time.RFC3339),
			"activityDisplayName": "Update user", "result": "success", "category": "UserManagement", "loggedByService": "Core Directory",
		}); err != nil {
			t.Fatal(err)
		}
	}
	rest, _ := collect(t, h, first.NextLink)
	if n := len(first.Value) + len(rest); n != 42 {
		t.Errorf("paging session begun before the appends saw %d events, want the 42 it started with", n)
	}
	all := listAll(t, h, "/v1.0/auditLogs/directoryAudits?%24top=4")
	if len(all) != 45 {
		t.Fatalf("%d events after appending 3", len(all))
	}
	if diff := cmp.Diff([]string{"Directory_test_2", "Directory_test_1", "Directory_test_0"}, idsOf(all[:3])); diff != "" {
		t.Errorf("appended events not newest first (-want +got):\n%s", diff)
	}
	filtered := listAll(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20ge%202026-11-26T12:01:30Z%20and%20activityDisplayName%20eq%20'Update%20user'")
	if diff := cmp.Diff([]string{"Directory_test_2", "Directory_test_1"}, idsOf(filtered)); diff != "" {
		t.Errorf("$filter over appended events (-want +got):\n%s", diff)
	}
	if err := sim.AppendLog(graphsim.LogSignIns, map[string]any{"id": "sign-in-1", "createdDateTime": sim.Clock().Format(time.RFC3339),
		"userId": helenaID, "ipAddress": "198.51.100.9"}); err != nil {
		t.Fatal(err)
	}
	s := listAll(t, h, "/v1.0/auditLogs/signIns?%24top=1")[0]
	if s["id"] != "sign-in-1" || s["userPrincipalName"] != "helena.marsh@northbridge-policy.org" || s["status"].(map[string]any)["errorCode"] != float64(0) {
		t.Errorf("appended sign-in not completed or not first: %v", s)
	}
}

func TestUsersFilterByID(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 50})
	h := sim.Handler()
	all := listAll(t, h, "/v1.0/users?%24select=id&%24top=999")
	var want []string
	for _, u := range all[30:45] {
		want = append(want, u["id"].(string))
	}
	quoted := make([]string, len(want))
	for i, id := range want {
		quoted[i] = "'" + strings.ToUpper(id) + "'"
	}
	path := "/v1.0/users?%24filter=id%20in%20(" + strings.Join(quoted, ",") + ")&%24select=id,displayName,signInActivity"
	got := listAll(t, h, path)
	if diff := cmp.Diff(want, idsOf(got)); diff != "" {
		t.Errorf("id in (…) (-want +got):\n%s", diff)
	}
	if r := get(t, h, base+"/v1.0/users?%24filter=id%20eq%20'"+want[0]+"'"); len(decodePage(t, r).Value) != 1 {
		t.Errorf("id eq: %s", r.body)
	}
	sixteen := append(quoted, "'"+all[0]["id"].(string)+"'")
	cases := []struct {
		filter string
		code   string
	}{
		{"id%20in%20(" + strings.Join(sixteen, ",") + ")", "Request_UnsupportedQuery"},
		{"displayName%20in%20('a')", "Request_UnsupportedQuery"},
		{"id%20in%20(1,2)", "Request_UnsupportedQuery"},
		{"id%20in%20()", "BadRequest"},
		{"id%20in%20('a'", "BadRequest"},
		{"id%20in%20'a'", "BadRequest"},
	}
	for _, tc := range cases {
		r := get(t, h, base+"/v1.0/users?%24filter="+tc.filter)
		if r.status != http.StatusBadRequest || decodeError(t, r).Error.Code != tc.code {
			t.Errorf("%s: %d %s", tc.filter, r.status, r.body)
		}
	}
	// in is for users' ids only.
	if r := get(t, h, base+"/v1.0/auditLogs/signIns?%24filter=userId%20in%20('a')"); r.status != http.StatusBadRequest {
		t.Errorf("in on sign-ins: %d", r.status)
	}
}

func TestClock(t *testing.T) {
	sim := newSim(t, nil) // Now set, Clock nil: the clock runs from Now
	if c := sim.Clock(); c.Before(testNow) || c.Sub(testNow) > time.Minute {
		t.Errorf("Clock %v, want just after %v", c, testNow)
	}
	c := newClock()
	c.Advance(time.Hour)
	sim = newSim(t, &graphsim.Options{Now: testNow, Clock: c.Now})
	if !sim.Clock().Equal(testNow.Add(time.Hour)) || !sim.Now().Equal(testNow) {
		t.Errorf("Clock %v Now %v", sim.Clock(), sim.Now())
	}
	sim, err := graphsim.New(&graphsim.Options{Scenario: apt29.Scenario(), Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !sim.Now().Equal(testNow.Add(time.Hour)) {
		t.Errorf("Now without Options.Now: %v, want the clock at New", sim.Now())
	}
	if _, err := graphsim.New(&graphsim.Options{Scenario: apt29.Scenario(), DeltaTokenTTL: -time.Second}); err == nil {
		t.Error("negative DeltaTokenTTL accepted")
	}
}
