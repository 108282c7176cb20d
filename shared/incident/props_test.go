package incident_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestIDStable: the id stays when a later finding joins and takes the
// earlier anchor when an earlier one joins (the documented trade-off).
func TestIDStable(t *testing.T) {
	in := readInput(t, "testdata/chain.json").Findings
	base := incident.Correlate(in, nil)
	if len(base) != 1 {
		t.Fatalf("%d incidents, want 1", len(base))
	}
	later := tenant.Finding{Rule: "exo.mailbox-audit-bypass", Severity: tenant.SeverityHigh, Key: "later",
		Subject:    tenant.Subject{Type: tenant.SubjectUser, ID: "someone", Name: "ceo@contoso.com"},
		Evidence:   map[string]any{"actor": "VIKTOR@contoso.com", "actorIp": "52.169.88.40:51000"},
		ObservedAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	got := incident.Correlate(append(in, later), nil)
	if len(got) != 1 || got[0].ID != base[0].ID || len(got[0].Findings) != len(base[0].Findings)+1 {
		t.Fatalf("a later finding: %+v, want the same id %s with one more finding", got, base[0].ID)
	}
	earlier := later
	earlier.Key, earlier.ObservedAt = "earlier", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	got = incident.Correlate(append(in, earlier), nil)
	if len(got) != 1 || got[0].ID == base[0].ID || got[0].Findings[0] != "earlier" {
		t.Fatalf("an earlier finding: %+v, want a new anchor", got)
	}
}

// TestPostureRules: the table names catalogue rules only, and posture
// findings alone are no incident.
func TestPostureRules(t *testing.T) {
	known := make(map[string]bool)
	for _, d := range detect.All() {
		known[d.Rule().ID] = true
	}
	for _, r := range incident.PostureRules() {
		if !known[r] {
			t.Errorf("posture rule %s is not in the catalogue", r)
		}
	}
	fs := []tenant.Finding{
		{Rule: "sp.mail-access", Key: "a", Subject: tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "x"}, Severity: tenant.SeverityHigh},
		{Rule: "sp.first-party-credential", Key: "b", Subject: tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "x"}, Severity: tenant.SeverityHigh},
	}
	if got := incident.Correlate(fs, nil); len(got) != 0 {
		t.Errorf("two posture findings on one subject made %d incidents, want none", len(got))
	}
	if !incident.IsPosture("mfa.not-registered") || incident.IsPosture("sp.credential-added") {
		t.Error("posture table")
	}
}

// randomFindings builds findings over a small alphabet of entities, so that
// they join often.
func randomFindings(r *rand.Rand, n int) []tenant.Finding {
	rules := []string{"sp.credential-added", "signin.azure-ip", "mfa.not-registered", "sp.mail-access", "policy.registration-unrestricted", "mail.app-collection", "role.global-admin-added"}
	types := []tenant.SubjectType{tenant.SubjectUser, tenant.SubjectServicePrincipal, tenant.SubjectApplication, tenant.SubjectTenant, ""}
	pick := func(p string, k int) string { return fmt.Sprintf("%s%d", p, r.IntN(k)) }
	out := make([]tenant.Finding, 0, n)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for range n {
		ev := map[string]any{}
		if r.IntN(2) == 0 {
			ev["actorId"] = pick("u", 6)
		}
		if r.IntN(2) == 0 {
			ev["appId"] = pick("a", 4)
		}
		if r.IntN(3) == 0 {
			ev["ips"] = []any{map[string]any{"ip": fmt.Sprintf("203.0.113.%d", r.IntN(5))}}
		}
		if r.IntN(4) == 0 {
			ev["events"] = []any{map[string]any{"actor": pick("x", 3) + "@c.com", "deep": []any{[]any{map[string]any{"ip": "::ffff:1.2.3.4"}}}}}
		}
		mitre := []string{pick("T10", 6)}
		if r.IntN(5) == 0 {
			mitre = nil
		}
		out = append(out, tenant.Finding{
			Rule:       rules[r.IntN(len(rules))],
			Severity:   tenant.Severity(r.IntN(7)), // invalid ones too
			Subject:    tenant.Subject{Type: types[r.IntN(len(types))], ID: pick("o", 8), Name: pick("n", 3) + "@c.com"},
			Evidence:   ev,
			MITRE:      mitre,
			ObservedAt: base.Add(time.Duration(r.IntN(40*24)) * time.Hour),
			Key:        pick("k", n+2), // duplicates and (sometimes) empty keys below
		})
		if r.IntN(20) == 0 {
			out[len(out)-1].Key = ""
		}
	}
	return out
}

// checkProperties: every finding in at most one incident, keys ⊆ findings,
// two findings at least, the same result for shuffled input.
func checkProperties(t *testing.T, r *rand.Rand, fs []tenant.Finding, opts *incident.Options) {
	t.Helper()
	got := incident.Correlate(fs, opts)
	keys := make(map[string]bool)
	for _, f := range fs {
		keys[f.Key] = true
	}
	seen := make(map[string]string)
	ids := make(map[string]bool)
	for _, inc := range got {
		if ids[inc.ID] {
			t.Fatalf("duplicate incident id %s", inc.ID)
		}
		ids[inc.ID] = true
		if len(inc.Findings) < 2 || len(inc.Timeline) != len(inc.Findings) || !inc.Severity.Valid() {
			t.Fatalf("malformed incident %+v", inc)
		}
		for _, k := range inc.Findings {
			if k == "" || !keys[k] {
				t.Fatalf("incident %s names %q, not a finding's key", inc.ID, k)
			}
			if other, dup := seen[k]; dup {
				t.Fatalf("finding %q in incidents %s and %s", k, other, inc.ID)
			}
			seen[k] = inc.ID
		}
	}
	shuffled := append([]tenant.Finding(nil), fs...)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := incident.Correlate(shuffled, opts); !reflect.DeepEqual(got, again) {
		t.Fatalf("shuffled input gives another result:\n%+v\n%+v", got, again)
	}
}

func TestCorrelateProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		fs := randomFindings(r, 1+r.IntN(60))
		checkProperties(t, r, fs, &incident.Options{MaxFanout: 1 + i%25})
	}
}

func FuzzCorrelate(f *testing.F) {
	f.Add(uint64(1), uint64(2), uint8(10), uint8(5))
	f.Add(uint64(7), uint64(0), uint8(80), uint8(0))
	f.Fuzz(func(t *testing.T, s1, s2 uint64, n, fan uint8) {
		r := rand.New(rand.NewPCG(s1, s2))
		checkProperties(t, r, randomFindings(r, int(n)), &incident.Options{MaxFanout: int(fan), Window: time.Duration(s1%10) * 24 * time.Hour})
	})
}

// TestTypedEvidence: evidence as the detectors build it (typed maps and
// slices) gives the same entities as evidence read back from JSON.
func TestTypedEvidence(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fs := []tenant.Finding{
		{Rule: "mfa.dormant-registration", Key: "a", ObservedAt: at, Severity: tenant.SeverityHigh,
			Subject:  tenant.Subject{Type: tenant.SubjectUser, ID: "u1", Name: "u1@c.com"},
			Evidence: map[string]any{"registrations": []map[string]string{{"actorIp": "20.43.66.12"}}}},
		{Rule: "sp.credential-added", Key: "b", ObservedAt: at.Add(time.Hour), Severity: tenant.SeverityHigh,
			Subject:  tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "s1", Name: "App"},
			Evidence: map[string]any{"last": map[string]map[string]string{"event": {"actorIp": "20.43.66.12:443"}}}},
	}
	if got := incident.Correlate(fs, nil); len(got) != 1 || len(got[0].Findings) != 2 {
		t.Fatalf("typed evidence did not join: %+v", got)
	}
}
