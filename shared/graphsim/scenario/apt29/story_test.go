package apt29_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
)

// attackWindow is the audit and sign-in filter for events at or after the
// test clock.
const attackWindow = "ge%202026-11-26T11:59:00Z"

type pair struct{ Rule, Subject string }

func pairs(fs []graphsim.ExpectedFinding) []pair {
	out := make([]pair, len(fs))
	for i, f := range fs {
		out[i] = pair{f.Rule, f.SubjectID}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule+out[i].Subject < out[j].Rule+out[j].Subject })
	return out
}

func kinds(cs []graphsim.AttackChange) map[string]int {
	out := map[string]int{}
	for _, c := range cs {
		out[c.Kind]++
	}
	return out
}

func TestAttackSteps(t *testing.T) {
	const (
		sarah   = "5b3af331-d622-4611-bc4b-028d37080525" // the enabled member with Advanced Auditing on, no audit finding or decoy
		liWei   = "6d0affb8-dc04-4c60-9451-e31a3b147356" // dormant, unregistered, no dormant-registration decoy
		crm     = "f4181a63-2be2-464a-bef3-e0dd3238e5d3" // holds full_access_as_app, no credential
		crmApp  = "280e41f5-e9b7-4000-a2b5-4cc835586fa0"
		spDelta = "/v1.0/servicePrincipals/delta?$select=displayName,keyCredentials,replyUrls"
	)
	cases := []struct {
		step      string
		before    []string // steps run first
		wantKinds map[string]int
		wantPairs []pair
		wantSev   map[string]string // rule → severity
		notified  bool
		check     func(t *testing.T, h http.Handler, res graphsim.AttackResult)
		deltaPath string
		deltaIDs  []string
	}{
		{
			step:      apt29.StepDisableAudit,
			wantKinds: map[string]int{"users": 1, "directoryAudits": 2},
			wantPairs: []pair{{"audit.advanced-auditing-disabled", sarah}},
			wantSev:   map[string]string{"audit.advanced-auditing-disabled": "high"},
			notified:  true,
			check: func(t *testing.T, h http.Handler, res graphsim.AttackResult) {
				u := listAll(t, h, "/v1.0/users?%24filter=id%20in%20('"+sarah+"')&%24select=id,assignedLicenses")
				if len(u) != 1 || !strings.Contains(mustJSON(t, u[0]), "2f442157-a11c-46b9-ae5b-6e39ff4e5849") {
					t.Errorf("licence state %v", u)
				}
				audits := listAll(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20"+attackWindow)
				var names []string
				for _, a := range audits {
					names = append(names, a["activityDisplayName"].(string))
				}
				sort.Strings(names)
				if diff := cmp.Diff([]string{"Change user license", "Update user"}, names); diff != "" {
					t.Errorf("new audit events (-want +got):\n%s", diff)
				}
				golden.Check(t, filepath.Join("testdata", "golden", "attack-disable-audit-audits.json"), normalise(t, []byte(mustJSON(t, audits))))
			},
			deltaPath: "/v1.0/users/delta?$select=assignedLicenses", deltaIDs: []string{sarah},
		},
		{
			step:      apt29.StepDormantTakeover,
			wantKinds: map[string]int{"users": 1, "userRegistrationDetails": 1, "directoryAudits": 2, "signIns": 1},
			wantPairs: []pair{{"mfa.dormant-registration", liWei}, {"mfa.registration-untrusted-location", liWei}, {"signin.azure-ip", liWei}},
			wantSev:   map[string]string{"mfa.dormant-registration": "high", "signin.azure-ip": "medium", "mfa.registration-untrusted-location": "high"},
			notified:  true,
			check: func(t *testing.T, h http.Handler, res graphsim.AttackResult) {
				signIns := listAll(t, h, "/v1.0/auditLogs/signIns?%24filter=createdDateTime%20"+attackWindow+"%20and%20status/errorCode%20eq%200")
				if len(signIns) != 1 || signIns[0]["userId"] != liWei {
					t.Fatalf("new sign-ins %v", signIns)
				}
				audits := listAll(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20"+attackWindow)
				if len(audits) != 2 || audits[0]["activityDisplayName"] != "User registered all required security info" ||
					audits[0]["activityDateTime"].(string) >= signIns[0]["createdDateTime"].(string) {
					t.Errorf("registration events, newest first and before the sign-in: %v", audits)
				}
				regs := listAll(t, h, "/v1.0/reports/authenticationMethods/userRegistrationDetails?%24filter=id%20eq%20'"+liWei+"'")
				if len(regs) != 1 || regs[0]["isMfaRegistered"] != true {
					t.Errorf("registration row %v", regs)
				}
				u := listAll(t, h, "/v1.0/users?%24filter=id%20eq%20'"+liWei+"'&%24select=id,signInActivity")
				sia, _ := u[0]["signInActivity"].(map[string]any)
				if sia["lastSuccessfulSignInDateTime"] != "2026-11-26T12:00:00Z" {
					t.Errorf("signInActivity %v", sia)
				}
				if len(res.Cleared) != 1 || res.Cleared[0].Rule != "mfa.dormant-unregistered" {
					t.Errorf("cleared %v", res.Cleared)
				}
			},
			// signInActivity and authentication methods are not tracked by
			// users/delta: nothing to see there.
			deltaPath: "/v1.0/users/delta?$select=displayName,accountEnabled", deltaIDs: nil,
		},
		{
			step:      apt29.StepSPBackdoor,
			wantKinds: map[string]int{"servicePrincipals": 1, "directoryAudits": 1},
			wantPairs: []pair{{"sp.credential-added", crm}, {"sp.credential-name-mimicry", crm}},
			wantSev:   map[string]string{"sp.credential-added": "high", "sp.credential-name-mimicry": "medium"},
			check: func(t *testing.T, h http.Handler, res graphsim.AttackResult) {
				sp := listAll(t, h, "/v1.0/servicePrincipals?%24select=id,keyCredentials&%24top=999")
				for _, s := range sp {
					if s["id"] != crm {
						continue
					}
					keys := s["keyCredentials"].([]any)
					k := keys[0].(map[string]any)
					if len(keys) != 1 || k["displayName"] != "CN=Northbridge CRM Connector" || k["startDateTime"] != "2026-10-27T12:00:00Z" ||
						k["type"] != "AsymmetricX509Cert" || k["usage"] != "Verify" {
						t.Errorf("key %v", keys)
					}
				}
				audits := listAll(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20"+attackWindow+"%20and%20activityDisplayName%20eq%20'Add%20service%20principal%20credentials'")
				if len(audits) != 1 {
					t.Fatalf("audits %v", audits)
				}
				golden.Check(t, filepath.Join("testdata", "golden", "attack-sp-backdoor-audit.json"), normalise(t, []byte(mustJSON(t, audits[0]))))
			},
			deltaPath: spDelta, deltaIDs: []string{crm},
		},
		{
			step:      apt29.StepReplyURL,
			before:    []string{apt29.StepSPBackdoor},
			wantKinds: map[string]int{"servicePrincipals": 1, "applications": 1, "directoryAudits": 2},
			wantPairs: []pair{{"sp.reply-url-added", crmApp}, {"sp.reply-url-added", crm}},
			wantSev:   map[string]string{"sp.reply-url-added": ""}, // checked below: medium on the SP, low on the app
			check: func(t *testing.T, h http.Handler, res graphsim.AttackResult) {
				for _, e := range res.Expected {
					want := map[string]string{crm: "medium", crmApp: "low"}[e.SubjectID]
					if e.Severity != want {
						t.Errorf("%s on %s: severity %s, want %s", e.Rule, e.SubjectID, e.Severity, want)
					}
				}
				apps := listAll(t, h, "/v1.0/applications?%24select=id,web&%24top=999")
				for _, a := range apps {
					if a["id"] == crmApp {
						uris := a["web"].(map[string]any)["redirectUris"].([]any)
						if len(uris) != 1 || !strings.HasSuffix(uris[0].(string), ".azurewebsites.net/signin") {
							t.Errorf("redirectUris %v", uris)
						}
					}
				}
				audits := listAll(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20"+attackWindow+"%20and%20activityDisplayName%20eq%20'Update%20application'")
				if len(audits) != 1 {
					t.Fatalf("audits %v", audits)
				}
				golden.Check(t, filepath.Join("testdata", "golden", "attack-reply-url-audit.json"), normalise(t, []byte(mustJSON(t, audits[0]))))
			},
			deltaPath: "/v1.0/applications/delta?$select=web", deltaIDs: []string{crmApp},
		},
	}
	for _, tc := range cases {
		t.Run(tc.step, func(t *testing.T) {
			sim, _ := newClockedSim(t, &graphsim.Options{Seed: 1, AllowHTTPNotificationURL: true, Users: 20})
			h := sim.Handler()
			rc := newReceiver(t)
			if r, _ := createSub(t, h, subscriptionBody(rc, "users", nil)); r.status != 201 {
				t.Fatal(r.status)
			}
			for _, b := range tc.before {
				if _, err := sim.Attack(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			_, link, _ := deltaRound(t, h, base+tc.deltaPath, nil)
			v := sim.Version()
			res, err := sim.Attack(t.Context(), tc.step)
			if err != nil {
				t.Fatal(err)
			}
			if sim.Version() <= v {
				t.Error("version did not increase")
			}
			if diff := cmp.Diff(tc.wantKinds, kinds(res.Changed)); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPairs, pairs(res.Expected)); diff != "" {
				t.Errorf("expected findings (-want +got):\n%s", diff)
			}
			for _, e := range res.Expected {
				if want := tc.wantSev[e.Rule]; want != "" && e.Severity != want {
					t.Errorf("%s: severity %s, want %s", e.Rule, e.Severity, want)
				}
				if e.Why == "" || e.SubjectName == "" {
					t.Errorf("%+v lacks a name or reason", e)
				}
			}
			golden.Check(t, filepath.Join("testdata", "golden", "attack-"+tc.step+".json"), normalise(t, []byte(mustJSON(t, res))))
			tc.check(t, h, res)

			got, _, _ := deltaRound(t, h, link, nil)
			if diff := cmp.Diff(tc.deltaIDs, nilIfEmpty(idsOf(got))); diff != "" {
				t.Errorf("delta after the step (-want +got):\n%s", diff)
			}
			wait(t, sim)
			notes := rc.notifications()
			if tc.notified {
				if len(notes) != 1 || len(res.Notified) != 1 || decodeNote(t, notes[0]).Value[0].ResourceData.ObjectID != tc.wantPairs[0].Subject {
					t.Errorf("notifications %q, result %v", notes, res.Notified)
				}
			} else if len(notes) != 0 || len(res.Notified) != 0 {
				t.Errorf("Graph does not notify on service principals or applications: %q", notes)
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAttackExpectationsAgreeWithScenario checks every step's expected
// findings against the scenario's own lists: no step turns a decoy into a
// finding or repeats a planted one.
func TestAttackExpectationsAgreeWithScenario(t *testing.T) {
	sim, _ := newClockedSim(t, nil)
	exp, _ := apt29.Expected()
	decoys, _ := apt29.Decoys()
	planted := map[pair]bool{}
	for _, e := range exp {
		planted[pair{e.Rule, strings.ToLower(e.SubjectID)}] = true
	}
	for _, d := range decoys {
		planted[pair{d.Rule, strings.ToLower(d.SubjectID)}] = true
	}
	for _, step := range apt29.Steps() {
		res, err := sim.Attack(t.Context(), step)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		for _, e := range res.Expected {
			if planted[pair{e.Rule, strings.ToLower(e.SubjectID)}] {
				t.Errorf("%s: %s on %s is already planted or a decoy", step, e.Rule, e.SubjectID)
			}
			if _, ok := sim.Get(map[string]graphsim.ObjectKind{"user": graphsim.KindUser, "servicePrincipal": graphsim.KindServicePrincipal,
				"application": graphsim.KindApplication}[e.SubjectType], e.SubjectID); !ok {
				t.Errorf("%s: subject %s %s does not exist", step, e.SubjectType, e.SubjectID)
			}
		}
	}
	// All four ran against their only candidates; running them again finds
	// none left (reply-url keeps targeting the backdoored principal).
	for _, step := range []string{apt29.StepDisableAudit, apt29.StepDormantTakeover, apt29.StepSPBackdoor} {
		if _, err := sim.Attack(t.Context(), step); step == apt29.StepDisableAudit {
			// Other Advanced Auditing holders may remain.
			_ = err
		} else if !errors.Is(err, graphsim.ErrNoCandidate) {
			t.Errorf("%s again: %v, want ErrNoCandidate", step, err)
		}
	}
}

// TestAttackErrors plays the story on the empty scenario's clean tenant:
// no step finds a candidate, and none changes anything.
func TestAttackErrors(t *testing.T) {
	clean := &graphsim.Scenario{Name: "empty with the apt29 story", Data: empty.Scenario().Data, Story: apt29.Scenario().Story}
	sim := newSim(t, &graphsim.Options{Scenario: clean, Users: 10})
	for _, step := range apt29.Steps() {
		if _, err := sim.Attack(t.Context(), step); !errors.Is(err, graphsim.ErrNoCandidate) {
			t.Errorf("%s on the empty tenant: %v", step, err)
		}
	}
	if _, err := sim.Attack(t.Context(), "exfiltrate"); !errors.Is(err, graphsim.ErrUnknownStep) {
		t.Errorf("unknown step: %v", err)
	}
	if sim.Version() != 0 {
		t.Errorf("failed steps changed the tenant (version %d)", sim.Version())
	}
}

// TestAttackIPIsAzure checks the takeover address against the Service
// Tags sample: inside an AzureCloud range, outside every trusted named
// location.
func TestAttackIPIsAzure(t *testing.T) {
	azure, _ := azureRanges(t)
	sim, _ := newClockedSim(t, nil)
	if _, err := sim.Attack(t.Context(), apt29.StepDormantTakeover); err != nil {
		t.Fatal(err)
	}
	h := sim.Handler()
	signIns := listAll(t, h, "/v1.0/auditLogs/signIns?%24filter=createdDateTime%20"+attackWindow)
	audits := listAll(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20"+attackWindow)
	ips := []string{signIns[0]["ipAddress"].(string)}
	for _, a := range audits {
		ips = append(ips, a["initiatedBy"].(map[string]any)["user"].(map[string]any)["ipAddress"].(string))
	}
	for _, ip := range ips {
		if !in(azure, ip) {
			t.Errorf("%s is not in an AzureCloud range of the sample", ip)
		}
	}
}

func TestAttackAdminEndpoint(t *testing.T) {
	sim, _ := newClockedSim(t, nil)
	h := sim.Handler()
	r := send(t, h, http.MethodPost, base+graphsim.AdminAttackPath+apt29.StepSPBackdoor, "", nil)
	var res graphsim.AttackResult
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 || res.Step != apt29.StepSPBackdoor || len(res.Expected) != 2 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	cases := []struct {
		method, path string
		status       int
	}{
		{http.MethodPost, graphsim.AdminAttackPath + apt29.StepSPBackdoor, 409}, // no candidate left
		{http.MethodPost, graphsim.AdminAttackPath + "exfiltrate", 404},
		{http.MethodGet, graphsim.AdminAttackPath + apt29.StepReplyURL, 405},
		{http.MethodGet, "/_graphsim/attack", 200},
		{http.MethodPost, graphsim.AdminExpireDeltaPath, 204},
		{http.MethodGet, "/_graphsim/nothing", 404},
	}
	for _, tc := range cases {
		if r := send(t, h, tc.method, base+tc.path, "", nil); r.status != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
		}
	}
	if sim.Stats().Total != 0 {
		t.Errorf("admin requests counted: %+v", sim.Stats())
	}
}
