package graphsim_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/golden"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// volatile matches the parts of an answer that legitimately vary between
// runs: innerError dates (wall clock) and request ids.
var volatile = regexp.MustCompile(`"(date|request-id|client-request-id)":"[^"]*"`)

func normalise(t *testing.T, b []byte) []byte {
	t.Helper()
	b = volatile.ReplaceAll(b, []byte(`"$1":"…"`))
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, b)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 3, Seed: 1})
	h := sim.Handler()
	// Resource SP ids for appRoleAssignedTo.
	sps := decodePage(t, get(t, h, base+"/v1.0/servicePrincipals?%24select=id,appId"))
	spID := map[string]string{}
	for _, raw := range sps.Value {
		var v struct{ ID, AppID string }
		_ = json.Unmarshal(raw, &v)
		spID[v.AppID] = v.ID
	}
	graphSP := spID["00000003-0000-0000-c000-000000000000"]
	exoSP := spID["00000002-0000-0ff1-ce00-000000000000"]

	cases := []struct {
		name, path string
		status     int
	}{
		{"organization", qOrganization, 200},
		{"subscribedSkus", qSkus, 200},
		{"users", qUsers, 200},
		{"users-without-signInActivity", qUsersNoSIA, 200},
		{"users-default-properties", "/v1.0/users?%24top=2", 200},
		{"userRegistrationDetails", qRegistrations, 200},
		{"servicePrincipals", qSPs, 200},
		{"applications", qApps, 200},
		{"appRoleAssignedTo-graph", "/v1.0/servicePrincipals/" + graphSP + "/appRoleAssignedTo" + qGrantsSelect, 200},
		{"appRoleAssignedTo-exchange", "/v1.0/servicePrincipals/" + exoSP + "/appRoleAssignedTo" + qGrantsSelect, 200},
		{"directoryAudits", qAudits, 200},
		{"signIns", qSignIns, 200},
		{"signIns-full", "/v1.0/auditLogs/signIns?%24top=3", 200},
		{"policies", qPolicies, 200},
		{"namedLocations", qLocations, 200},
		{"error-not-simulated", "/v1.0/me/messages", 501},
		{"error-select", "/v1.0/users?%24select=id,favouriteColour", 400},
		{"error-top", "/v1.0/users?%24top=1000", 400},
		{"error-filter", "/v1.0/auditLogs/signIns?%24filter=startswith(appDisplayName,'Graph')", 400},
		{"error-not-found", "/v1.0/servicePrincipals/00000000-0000-0000-0000-000000000000/appRoleAssignedTo", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, h, base+tc.path)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			got := normalise(t, r.body)
			golden.Check(t, filepath.Join("testdata", "golden", tc.name+".json"), got)
		})
	}
}
