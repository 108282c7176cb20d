package cli_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
)

// TestScanMidnightWithoutBetaOrPremium is issue 12's done-when for the
// scan: on the midnight scenario, with beta switched off, with the beta
// endpoint refused (403) and in a tenant without Entra ID P1/P2, exactly
// the rules that need what is missing are skipped, each with the reason,
// and every other planted finding of expected.json is still reported —
// nothing more, nothing on a decoy.
func TestScanMidnightWithoutBetaOrPremium(t *testing.T) {
	premiumRules := []string{
		"mfa.dormant-registration",            // signIns
		"mfa.dormant-unregistered",            // signInActivity, userRegistrationDetails
		"mfa.not-registered",                  // userRegistrationDetails
		"mfa.registration-untrusted-location", // namedLocations (Conditional Access)
		"policy.registration-unrestricted",    // conditionalAccessPolicies
		"posture.device-code-unrestricted",    // conditionalAccessPolicies
		"posture.dormant-excluded-from-mfa",   // signInActivity, conditionalAccessPolicies
		"signin.azure-ip",                     // signIns
		"signin.broker-device-registration",   // signIns
		"signin.device-code",                  // signIns, signInsBeta
		"signin.password-spray",               // signIns
	}
	tests := []struct {
		name    string
		opts    graphsim.Options
		args    []string
		skipped []string
		reason  string // every skip reason holds it
		// degraded are the rules that still run but whose planted finding
		// has the severity it has without the missing source (what raised
		// it is not read, and its evidence says so: notChecked).
		degraded map[string]string // rule → severity
	}{
		{name: "--beta=false", args: []string{"--beta=false"}, skipped: []string{"signin.device-code"},
			reason: "beta disabled (--beta=false / TENANTWATCH_BETA=false)"},
		{name: "beta denied", opts: graphsim.Options{Deny: []string{graphsim.SourceSignInsBeta}}, skipped: []string{"signin.device-code"},
			reason: "GET /beta/auditLogs/signIns: 403"},
		{name: "no Entra ID P1/P2", opts: graphsim.Options{NoPremium: true}, skipped: premiumRules,
			reason: "premium",
			// "high; medium alone": the device-code sign-in before the
			// registration is in the sign-in log.
			degraded: map[string]string{"device.rogue-registration": "medium"}},
	}
	exp, err := midnight.Expected()
	if err != nil {
		t.Fatal(err)
	}
	decoys, err := midnight.Decoys()
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	for _, d := range detect.All() {
		registered = append(registered, d.Rule().ID)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Scenario, opts.Seed = midnight.Scenario(), 5
			url, _ := startSim(t, &opts)
			out := t.TempDir()
			args := append([]string{"scan", "--graph-url", url, "--auth", "none", "--since", "720h",
				"--azure-ip-ranges", serviceTags, "--out", out}, tc.args...)
			r := runCLI(t, args...)
			if r.code != cli.ExitOK {
				t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
			}
			f := readFindings(t, out)
			var got []string
			for _, s := range f.Skipped {
				got = append(got, s.Rule)
				if !strings.Contains(strings.ToLower(s.Reason), strings.ToLower(tc.reason)) {
					t.Errorf("%s skipped because %q, want the reason %q", s.Rule, s.Reason, tc.reason)
				}
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.skipped, got); diff != "" {
				t.Errorf("skipped rules (-want +got):\n%s", diff)
			}
			var want []string
			dependent := 0
			for _, e := range exp {
				if !slices.Contains(registered, e.Rule) {
					continue
				}
				if slices.Contains(tc.skipped, e.Rule) {
					dependent++
					continue
				}
				sev := e.Severity
				if d, ok := tc.degraded[e.Rule]; ok {
					sev = d
				}
				want = append(want, fmt.Sprintf("%s %s %s", e.Rule, strings.ToLower(e.SubjectID), sev))
			}
			sort.Strings(want)
			if dependent == 0 || len(want) < 5 {
				t.Fatalf("%d expected findings of skipped rules, %d of the others: the scenario no longer tests this", dependent, len(want))
			}
			if diff := cmp.Diff(want, f.triples()); diff != "" {
				t.Errorf("findings of the rules that ran (-expected +got):\n%s", diff)
			}
			for _, x := range f.Findings {
				if _, ok := tc.degraded[x.Rule]; ok && !strings.Contains(fmt.Sprint(x.Evidence["notChecked"]), "signIns") {
					t.Errorf("%s on %s: evidence %v does not say what was not checked", x.Rule, x.Subject.Name, x.Evidence)
				}
			}
			for _, d := range decoys {
				for _, x := range f.Findings {
					if x.Rule == d.Rule && strings.EqualFold(x.Subject.ID, d.SubjectID) {
						t.Errorf("decoy flagged: %s on %s: %s", d.Rule, x.Subject.Name, d.Why)
					}
				}
			}
		})
	}
}
