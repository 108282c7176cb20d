package detect_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// fakeDetector is a Detector built from a rule and a function.
type fakeDetector struct {
	rule   tenant.Rule
	detect func(ctx context.Context, in *detect.Input) ([]tenant.Finding, error)
	calls  int
}

func (f *fakeDetector) Rule() tenant.Rule { return f.rule }

func (f *fakeDetector) Detect(ctx context.Context, in *detect.Input) ([]tenant.Finding, error) {
	f.calls++
	return f.detect(ctx, in)
}

var _ detect.Detector = (*fakeDetector)(nil)

func fakeRule(id string, sev tenant.Severity, sources ...tenant.Source) tenant.Rule {
	return tenant.Rule{ID: id, Title: "Title of " + id, Description: "d", Severity: sev, MITRE: []string{"T1098.001"}, Sources: sources}
}

func returning(fs ...tenant.Finding) func(context.Context, *detect.Input) ([]tenant.Finding, error) {
	return func(context.Context, *detect.Input) ([]tenant.Finding, error) { return fs, nil }
}

func finding(key, name string) tenant.Finding {
	return tenant.Finding{Subject: tenant.Subject{Type: tenant.SubjectUser, ID: "id-" + name, Name: name}, Key: key}
}

func newInput() *detect.Input {
	return &detect.Input{Snapshot: &tenant.Snapshot{CollectedAt: fixedNow, Since: fixedNow.Add(-24 * time.Hour)}}
}

func TestRunSkipsMissingSources(t *testing.T) {
	t.Parallel()
	in := newInput()
	in.Snapshot.MarkUnavailable(tenant.SourceSignIns, "403 Forbidden: tenant lacks Entra ID P1")
	in.Snapshot.MarkUnavailable(tenant.SourceDirectoryAudits, "403 Forbidden: AuditLog.Read.All not granted")
	skipped := &fakeDetector{rule: fakeRule("a.skipped", tenant.SeverityHigh, tenant.SourceUsers, tenant.SourceSignIns, tenant.SourceDirectoryAudits), detect: returning(finding("a.skipped:x", "x"))}
	ran := &fakeDetector{rule: fakeRule("b.ran", tenant.SeverityLow, tenant.SourceUsers), detect: returning(finding("b.ran:x", "x"))}
	res, err := detect.Run(t.Context(), []detect.Detector{skipped, ran}, in)
	if err != nil {
		t.Fatal(err)
	}
	if skipped.calls != 0 || ran.calls != 1 {
		t.Errorf("calls: skipped %d, ran %d", skipped.calls, ran.calls)
	}
	want := []tenant.Skipped{{Rule: "a.skipped", Reason: "directoryAudits: 403 Forbidden: AuditLog.Read.All not granted; signIns: 403 Forbidden: tenant lacks Entra ID P1"}}
	if diff := cmp.Diff(want, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if len(res.Findings) != 1 || res.Findings[0].Rule != "b.ran" {
		t.Errorf("findings = %+v", res.Findings)
	}
}

func TestRunSkipError(t *testing.T) {
	t.Parallel()
	d := &fakeDetector{rule: fakeRule("a.skip", tenant.SeverityHigh), detect: func(context.Context, *detect.Input) ([]tenant.Finding, error) {
		return []tenant.Finding{finding("a.skip:x", "x")}, fmt.Errorf("wrapped: %w", detect.Skip("no trusted location"))
	}}
	res, err := detect.Run(t.Context(), []detect.Detector{d}, newInput())
	if err != nil {
		t.Fatalf("a skip is not an error: %v", err)
	}
	if diff := cmp.Diff([]tenant.Skipped{{Rule: "a.skip", Reason: "no trusted location"}}, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if len(res.Findings) != 0 {
		t.Errorf("a skipped rule's findings were kept: %+v", res.Findings)
	}
	if got := detect.Skip("why").Error(); got != "skipped: why" {
		t.Errorf("SkipError.Error() = %q", got)
	}
}

func TestRunStamps(t *testing.T) {
	t.Parallel()
	observed := time.Date(2026, 10, 20, 15, 4, 5, 0, time.FixedZone("CEST", 2*3600))
	own := finding("a.stamp:own", "own")
	own.Severity, own.ObservedAt, own.Title, own.MITRE = tenant.SeverityCritical, observed, "Own title", []string{"T1036"}
	rule := fakeRule("a.stamp", tenant.SeverityMedium)
	d := &fakeDetector{rule: rule, detect: returning(finding("a.stamp:default", "default"), own)}
	in := newInput()
	in.Now = time.Time{} // defaults to the snapshot's collection time
	res, err := detect.Run(t.Context(), []detect.Detector{d}, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.Now != fixedNow || in.Config != detect.DefaultConfig() {
		t.Errorf("input defaults not applied: now %v config %+v", in.Now, in.Config)
	}
	want := []tenant.Finding{
		{Rule: "a.stamp", Severity: tenant.SeverityCritical, Title: "Own title", Subject: own.Subject, Evidence: map[string]any{}, MITRE: []string{"T1036"}, ObservedAt: observed.UTC(), Key: "a.stamp:own"},
		{Rule: "a.stamp", Severity: tenant.SeverityMedium, Title: rule.Title, Subject: tenant.Subject{Type: tenant.SubjectUser, ID: "id-default", Name: "default"}, Evidence: map[string]any{}, MITRE: []string{"T1098.001"}, ObservedAt: fixedNow, Key: "a.stamp:default"},
	}
	if diff := cmp.Diff(want, res.Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if res.Findings[0].ObservedAt.Location() != time.UTC {
		t.Error("ObservedAt not in UTC")
	}
	res.Findings[1].MITRE[0] = "changed"
	if d.Rule().MITRE[0] != "T1098.001" {
		t.Error("a finding shares the rule's MITRE slice")
	}
}

func TestRunValidatesAndDedupes(t *testing.T) {
	t.Parallel()
	noKey := finding("", "nokey")
	noID := finding("a.v:noid", "noid")
	noID.Subject.ID = ""
	noType := finding("a.v:notype", "notype")
	noType.Subject.Type = ""
	first := finding("a.v:dup", "first")
	second := finding("a.v:dup", "second")
	foreign := finding("a.v:x", "foreign") // returned by b.v: a key outside its rule
	a := &fakeDetector{rule: fakeRule("a.v", tenant.SeverityHigh), detect: returning(noKey, noID, noType, first, second)}
	b := &fakeDetector{rule: fakeRule("b.v", tenant.SeverityHigh), detect: returning(foreign)}
	res, err := detect.Run(t.Context(), []detect.Detector{a, b}, newInput())
	for _, want := range []string{"detect: a.v: finding has no key", "detect: a.v: finding has no subject id", "detect: a.v: finding has no subject type", `detect: b.v: finding key "a.v:x" does not start with "b.v:"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %q", err, want)
		}
	}
	if len(res.Findings) != 1 || res.Findings[0].Subject.Name != "first" || res.Findings[0].Rule != "a.v" {
		t.Errorf("findings = %+v, want only the first of the duplicates", res.Findings)
	}
}

func TestRunKeepsGoingAfterErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	failing := &fakeDetector{rule: fakeRule("a.fail", tenant.SeverityHigh), detect: func(context.Context, *detect.Input) ([]tenant.Finding, error) {
		return []tenant.Finding{finding("a.fail:partial", "partial")}, boom
	}}
	ok := &fakeDetector{rule: fakeRule("b.ok", tenant.SeverityLow), detect: returning(finding("b.ok:x", "x"))}
	res, err := detect.Run(t.Context(), []detect.Detector{failing, ok}, newInput())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "detect: a.fail: boom") {
		t.Errorf("err = %v, want the wrapped detector error", err)
	}
	if len(res.Findings) != 2 {
		t.Errorf("findings = %+v, want the partial and the other detector's", res.Findings)
	}
}

func TestRunRecoversFromPanic(t *testing.T) {
	t.Parallel()
	broken := &fakeDetector{rule: fakeRule("a.broken", tenant.SeverityHigh), detect: func(context.Context, *detect.Input) ([]tenant.Finding, error) {
		panic("a broken rule")
	}}
	ok := &fakeDetector{rule: fakeRule("b.ok", tenant.SeverityLow), detect: returning(finding("b.ok:x", "x"))}
	res, err := detect.Run(t.Context(), []detect.Detector{broken, ok}, newInput())
	if err == nil || !strings.Contains(err.Error(), "detect: a.broken: panic") {
		t.Errorf("err = %v, want the panic reported as the rule's error", err)
	}
	if len(res.Findings) != 1 {
		t.Errorf("findings = %+v, want the other detector's", res.Findings)
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := &fakeDetector{rule: fakeRule("a.c", tenant.SeverityHigh), detect: returning(finding("a.c:x", "x"))}
	_, err := detect.Run(ctx, []detect.Detector{d}, newInput())
	if !errors.Is(err, context.Canceled) || d.calls != 0 {
		t.Errorf("err = %v, calls = %d", err, d.calls)
	}
}

func TestRunNoSnapshot(t *testing.T) {
	t.Parallel()
	if _, err := detect.Run(t.Context(), nil, &detect.Input{}); err == nil {
		t.Error("want an error for an input without a snapshot")
	}
}

func TestRunSorts(t *testing.T) {
	t.Parallel()
	low := &fakeDetector{rule: fakeRule("z.low", tenant.SeverityLow), detect: returning(finding("z.low:1", "a"))}
	high := &fakeDetector{rule: fakeRule("b.high", tenant.SeverityHigh), detect: returning(finding("b.high:2", "beta"), finding("b.high:1", "Alpha"), finding("b.high:0", "alpha"))}
	high2 := &fakeDetector{rule: fakeRule("a.high", tenant.SeverityHigh), detect: returning(finding("a.high:1", "zed"))}
	res, err := detect.Run(t.Context(), []detect.Detector{low, high, high2}, newInput())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range res.Findings {
		keys = append(keys, f.Key)
	}
	if diff := cmp.Diff([]string{"a.high:1", "b.high:0", "b.high:1", "b.high:2", "z.low:1"}, keys); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// TestAllDetectorsOnEmptySnapshot runs the whole catalogue over an empty
// tenant: nothing to report except the tenant-wide policy gaps, no errors.
func TestAllDetectorsOnEmptySnapshot(t *testing.T) {
	t.Parallel()
	in := newInput()
	in.Snapshot.Organization = tenant.Organization{ID: "tenant-id", DisplayName: "Empty"}
	res, err := detect.Run(t.Context(), detect.All(), in)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range res.Findings {
		rules = append(rules, f.Rule)
	}
	// The tenant-wide policy gaps of a tenant without Conditional Access.
	if diff := cmp.Diff([]string{"policy.registration-unrestricted", "posture.device-code-unrestricted"}, rules); diff != "" {
		t.Errorf("findings (-want +got):\n%s\n%+v", diff, res.Findings)
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.Rule)
	}
	if diff := cmp.Diff([]string{"mfa.registration-untrusted-location", "signin.azure-ip"}, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}
