package detect_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	goldenfile "github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// fixedNow is the time every case is judged at unless it says otherwise.
var fixedNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// serviceTagsFile is real Service Tags data (AzureActiveDirectory,
// AzureCloud.japaneast, AzureCloud.northeurope), copied unaltered.
const serviceTagsFile = "testdata/servicetags-sample.json"

// fixture is one test case: a partial snapshot keyed by source name, the
// run's time and window, and what the rule must report.
type fixture struct {
	Description string    `json:"description"`
	Now         time.Time `json:"now"`   // default fixedNow
	Since       time.Time `json:"since"` // default Now − 30 days
	// NoAzureRanges leaves Input.Azure nil (no Service Tags file given).
	NoAzureRanges bool `json:"noAzureRanges"`

	Organization      tenant.Organization        `json:"organization"`
	SKUs              []tenant.SKU               `json:"subscribedSkus"`
	Users             []tenant.User              `json:"users"`
	Registrations     []tenant.Registration      `json:"userRegistrationDetails"`
	ServicePrincipals []tenant.ServicePrincipal  `json:"servicePrincipals"`
	Applications      []tenant.Application       `json:"applications"`
	ResourceGrants    []tenant.AppRoleAssignment `json:"appRoleAssignedTo"`
	Audits            []tenant.AuditEvent        `json:"directoryAudits"`
	SignIns           []tenant.SignIn            `json:"signIns"`
	Policies          []tenant.CAPolicy          `json:"conditionalAccessPolicies"`
	NamedLocations    []tenant.NamedLocation     `json:"namedLocations"`
	Changes           []tenant.Change            `json:"changes"`
	AppRefs           []tenant.AppRef            `json:"appRefs"`
	Prior             []tenant.Finding           `json:"prior"`
	// The Exchange records of the unified audit log, as shared/exoaudit
	// decodes them, and the Management Activity API's "not enabled for
	// auditing" answer.
	ExchangeAdmin []tenant.ExchangeAdminEvent `json:"exchangeAdmin"`
	MailAccess    []tenant.MailAccess         `json:"mailAccess"`
	AuditingOff   string                      `json:"auditingOff"`
	// The data of the 2023–2025 rules (issue 12). Failed sign-ins in
	// signIns go where collection puts them: into the SignInFailures
	// aggregate, not into Snapshot.SignIns; signInFailures adds tallies as
	// the deployed app stores them.
	Devices             []tenant.Device             `json:"devices"`
	DelegatedGrants     []tenant.DelegatedGrant     `json:"oauth2PermissionGrants"`
	AuthorizationPolicy *tenant.AuthorizationPolicy `json:"authorizationPolicy"`
	Domains             []tenant.Domain             `json:"domains"`
	GroupMembers        map[string][]string         `json:"conditionalAccessGroupMembers"`
	SignInFailures      []tenant.FailureTally       `json:"signInFailures"`
	Unavailable         map[tenant.Source]string    `json:"unavailable"`

	// Want lists the findings the rule must report (key and severity);
	// empty for a negative case. WantSkip is a substring of the skip reason
	// when the rule must be skipped.
	Want     []wantFinding `json:"want"`
	WantSkip string        `json:"wantSkip"`
}

type wantFinding struct {
	Key      string          `json:"key"`
	Severity tenant.Severity `json:"severity"`
}

// loadInput reads testdata/<rule>/<name>.json into an Input.
func loadInput(t *testing.T, path string) (*detect.Input, fixture) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fx); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if fx.Description == "" {
		t.Errorf("%s: no description", path)
	}
	now := fx.Now
	if now.IsZero() {
		now = fixedNow
	}
	since := fx.Since
	if since.IsZero() {
		since = now.Add(-30 * 24 * time.Hour)
	}
	snap := &tenant.Snapshot{
		Organization:        fx.Organization,
		CollectedAt:         now,
		Since:               since,
		SKUs:                fx.SKUs,
		Users:               fx.Users,
		Registrations:       fx.Registrations,
		ServicePrincipals:   fx.ServicePrincipals,
		Applications:        fx.Applications,
		ResourceGrants:      fx.ResourceGrants,
		Audits:              fx.Audits,
		Devices:             fx.Devices,
		DelegatedGrants:     fx.DelegatedGrants,
		AuthorizationPolicy: fx.AuthorizationPolicy,
		Domains:             fx.Domains,
		GroupMembers:        fx.GroupMembers,
		Policies:            fx.Policies,
		NamedLocations:      fx.NamedLocations,
		Changes:             fx.Changes,
		AppRefs:             fx.AppRefs,
		Prior:               fx.Prior,
		ExchangeAdmin:       fx.ExchangeAdmin,
		MailAccess:          fx.MailAccess,
		AuditingOff:         fx.AuditingOff,
	}
	for _, si := range fx.SignIns {
		if si.Succeeded() {
			snap.SignIns = append(snap.SignIns, si)
			continue
		}
		if snap.SignInFailures == nil {
			snap.SignInFailures = &tenant.SignInFailures{}
		}
		snap.SignInFailures.Add(si)
	}
	for _, t := range fx.SignInFailures {
		if snap.SignInFailures == nil {
			snap.SignInFailures = &tenant.SignInFailures{}
		}
		snap.SignInFailures.Merge(t)
	}
	for src, reason := range fx.Unavailable {
		snap.MarkUnavailable(src, reason)
	}
	in := &detect.Input{Snapshot: snap, Now: now, Config: detect.DefaultConfig()}
	if !fx.NoAzureRanges {
		set, err := azureip.Load(serviceTagsFile)
		if err != nil {
			t.Fatal(err)
		}
		in.Azure = set
	}
	return in, fx
}

// golden is what a case's .golden.json holds.
type golden struct {
	Findings []tenant.Finding `json:"findings"`
	Skipped  []tenant.Skipped `json:"skipped"`
}

// caseNames lists the cases of a rule: testdata/<rule>/<name>.json.
func caseNames(t *testing.T, rule string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", rule, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	return names
}

func runCase(t *testing.T, d detect.Detector, path string) (golden, fixture) {
	t.Helper()
	in, fx := loadInput(t, path)
	res, err := detect.Run(t.Context(), []detect.Detector{d}, in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return golden{Findings: res.Findings, Skipped: res.Skipped}, fx
}

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// checkEvidence enforces the evidence contract: camelCase keys; values are
// strings, numbers, bools, []string, []map[string]string or
// []map[string]any of the same.
func checkEvidence(t *testing.T, where string, ev map[string]any) {
	t.Helper()
	for k, v := range ev {
		if !camelCase.MatchString(k) {
			t.Errorf("%s: evidence key %q is not camelCase", where, k)
		}
		switch v := v.(type) {
		case string, bool, int, int64, float64:
		case []string:
		case []map[string]string:
			for _, m := range v {
				for mk := range m {
					if !camelCase.MatchString(mk) {
						t.Errorf("%s: evidence %s: key %q is not camelCase", where, k, mk)
					}
				}
			}
		case []map[string]any:
			for _, m := range v {
				checkEvidence(t, where+": "+k, m)
			}
		default:
			t.Errorf("%s: evidence %s has type %T", where, k, v)
		}
	}
}

func TestDetectors(t *testing.T) {
	for _, d := range detect.All() {
		rule := d.Rule()
		t.Run(rule.ID, func(t *testing.T) {
			t.Parallel()
			names := caseNames(t, rule.ID)
			positive, negative := false, false
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					path := filepath.Join("testdata", rule.ID, name+".json")
					got, fx := runCase(t, d, path)
					if len(fx.Want) > 0 {
						positive = true
					} else if fx.WantSkip == "" {
						negative = true
					}
					checkWant(t, rule, got, fx)
					for _, f := range got.Findings {
						checkEvidence(t, f.Key, f.Evidence)
					}
					// Same input, same output: no map-order leaks.
					again, _ := runCase(t, d, path)
					if diff := cmp.Diff(mustJSON(t, got), mustJSON(t, again)); diff != "" {
						t.Errorf("second run differs (-first +second):\n%s", diff)
					}
					checkGolden(t, strings.TrimSuffix(path, ".json")+".golden.json", got)
				})
			}
			if !positive || !negative {
				t.Errorf("%s: want at least one positive and one negative case (positive %v, negative %v)", rule.ID, positive, negative)
			}
		})
	}
}

func checkWant(t *testing.T, rule tenant.Rule, got golden, fx fixture) {
	t.Helper()
	if fx.WantSkip != "" {
		if len(got.Skipped) != 1 || !strings.Contains(got.Skipped[0].Reason, fx.WantSkip) {
			t.Errorf("skipped = %+v, want one skip with %q", got.Skipped, fx.WantSkip)
		}
	} else if len(got.Skipped) > 0 {
		t.Errorf("rule skipped: %+v", got.Skipped)
	}
	var gotW []wantFinding
	for _, f := range got.Findings {
		gotW = append(gotW, wantFinding{Key: f.Key, Severity: f.Severity})
		if !strings.HasPrefix(f.Key, rule.ID+":") || strings.ToLower(f.Key) != f.Key {
			t.Errorf("key %q: want lower case, prefixed %q", f.Key, rule.ID+":")
		}
		if f.Rule != rule.ID || f.Title != rule.Title || f.ObservedAt.IsZero() {
			t.Errorf("finding %q not stamped: rule %q title %q observedAt %v", f.Key, f.Rule, f.Title, f.ObservedAt)
		}
		checkSubject(t, f, fx)
	}
	byKey := func(a, b wantFinding) int { return strings.Compare(a.Key, b.Key) }
	var want []wantFinding
	want = append(want, fx.Want...)
	slices.SortFunc(want, byKey)
	slices.SortFunc(gotW, byKey)
	if diff := cmp.Diff(want, gotW); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// checkSubject enforces the subject contract: a name always; an object id
// always, except for a service principal or application that no data the
// case holds resolves, whose evidence then says objectIdResolved=false and
// carries its appId or whose name identifies it; and the subject id is
// never an app id.
func checkSubject(t *testing.T, f tenant.Finding, fx fixture) {
	t.Helper()
	if strings.TrimSpace(f.Subject.Name) == "" {
		t.Errorf("finding %q: subject %+v has no name", f.Key, f.Subject)
	}
	resolved, flagged := f.Evidence["objectIdResolved"].(bool)
	switch {
	case f.Subject.ID == "" && !(flagged && !resolved):
		t.Errorf("finding %q: subject %+v has no id and the evidence does not say objectIdResolved=false", f.Key, f.Subject)
	case f.Subject.ID == "" && f.Subject.Type == tenant.SubjectTenant:
		t.Errorf("finding %q: a %s subject without an id", f.Key, f.Subject.Type)
	case f.Subject.ID != "" && flagged:
		t.Errorf("finding %q: subject id %q with objectIdResolved=%v", f.Key, f.Subject.ID, resolved)
	}
	if f.Subject.ID == "" {
		return
	}
	objects, appIDs := map[string]bool{}, map[string]bool{}
	for _, sp := range fx.ServicePrincipals {
		objects[strings.ToLower(sp.ID)], appIDs[strings.ToLower(sp.AppID)] = true, true
	}
	for _, a := range fx.Applications {
		objects[strings.ToLower(a.ID)], appIDs[strings.ToLower(a.AppID)] = true, true
	}
	for _, r := range fx.AppRefs {
		objects[strings.ToLower(r.ID)], appIDs[strings.ToLower(r.AppID)] = true, true
	}
	if a, _ := f.Evidence["appId"].(string); a != "" {
		appIDs[strings.ToLower(a)] = true
	}
	// App ids the audit records give (ServicePrincipal.AppId, AppId, …).
	for _, e := range fx.Audits {
		for _, tr := range e.Targets {
			for _, p := range tr.Modified {
				if strings.HasSuffix(strings.ToLower(strings.TrimSpace(p.Name)), "appid") {
					for _, v := range []string{p.New, p.Old} {
						appIDs[strings.ToLower(strings.Trim(strings.TrimSpace(v), `"[]\`))] = true
					}
				}
			}
		}
	}
	if id := strings.ToLower(f.Subject.ID); appIDs[id] && !objects[id] {
		t.Errorf("finding %q: subject id %s is an app id, not an object id", f.Key, f.Subject.ID)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func checkGolden(t *testing.T, path string, got any) {
	t.Helper()
	goldenfile.Check(t, path, []byte(mustJSON(t, got)))
}
