package collect_test

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// exchangeFeed is a double of collect.ExchangeFeed serving one blob.
type exchangeFeed struct {
	collect.ActivityFeed
	body func() io.Reader
}

func (f exchangeFeed) List(_ context.Context, _ string, _, _ time.Time, fn func(string, string) error) error {
	return fn("blob-0", "https://manage.office.com/api/v1.0/t/activity/feed/audit/blob-0")
}

func (f exchangeFeed) Blob(_ context.Context, id, _ string, fn func(string, io.Reader) error) error {
	return fn(id, f.body())
}

// readingAppReader answers the look-up of the reading app's service
// principal by app id; the rest as roundReader.
type readingAppReader struct {
	*roundReader
	sp tenant.ServicePrincipal
}

func (f readingAppReader) ServicePrincipalsByAppID(ctx context.Context, appIDs []string, fn func(tenant.ServicePrincipal) error) error {
	if slices.Contains(appIDs, f.sp.AppID) {
		return fn(f.sp)
	}
	return f.roundReader.ServicePrincipalsByAppID(ctx, appIDs, fn)
}

// TestExchangeRoundJoinsPriorFindings: the Exchange round fills
// Snapshot.Prior with the stored findings mail.app-collection joins on the
// app that read mail (testdata/activity/mail.json: ClientAppId
// 8e1f2a3b-…, first read 2026-10-30T11:02:10Z) — subject its service
// principal or its application, or evidence naming its app id — last seen
// within the 30 days before the read; not other rules, other apps or older
// findings.
func TestExchangeRoundJoinsPriorFindings(t *testing.T) {
	const appID = "8e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
	read := time.Date(2026, 10, 30, 11, 2, 10, 0, time.UTC)
	rec := func(rule, key string, subject tenant.Subject, appIDEvidence string, lastSeen time.Time) state.FindingRecord {
		ev := map[string]any{}
		if appIDEvidence != "" {
			ev["appId"] = appIDEvidence
		}
		f := tenant.Finding{Rule: rule, Key: key, Subject: subject, Evidence: ev, ObservedAt: lastSeen}
		return state.FindingRecord{Finding: f, FirstSeen: lastSeen, LastSeen: lastSeen}
	}
	sp := tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "sp-reader"}
	app := tenant.Subject{Type: tenant.SubjectApplication, ID: "app-reader"}
	other := tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "sp-other"}
	st := stored{
		baselines: []state.Baseline{
			{Type: tenant.SubjectApplication, ID: "app-reader", AppID: appID},
			{Type: tenant.SubjectApplication, ID: "app-other", AppID: "11111111-2222-4333-8444-555555555555"},
		},
		findings: []state.FindingRecord{
			rec("sp.credential-added", "on-sp", sp, "", read.Add(-2*24*time.Hour)),
			rec("app.mail-permission-granted", "on-application", app, "", read.Add(-10*24*time.Hour)),
			rec("exo.impersonation-granted", "by-app-id", tenant.Subject{Type: tenant.SubjectServicePrincipal}, appID, read.Add(-time.Hour)),
			rec("sp.first-party-credential", "first-party", sp, appID, read.Add(-29*24*time.Hour)),
			rec("sp.credential-added", "too-old", sp, appID, read.Add(-31*24*time.Hour)),
			rec("sp.credential-added", "other-app", other, "11111111-2222-4333-8444-555555555555", read.Add(-time.Hour)),
			rec("sp.credential-added", "other-application", tenant.Subject{Type: tenant.SubjectApplication, ID: "app-other"}, "", read.Add(-time.Hour)),
			rec("user.mfa-not-registered", "other-rule", sp, appID, read.Add(-time.Hour)),
		},
	}
	r := readingAppReader{roundReader: &roundReader{}, sp: tenant.ServicePrincipal{ID: "sp-reader", AppID: appID, DisplayName: "Reader"}}
	feed := exchangeFeed{body: blobFile(t, "mail.json")}
	u, _, err := collect.NewRounds(r, st, nil).Exchange(t.Context(), feed, collect.ExchangeFrom{}, window)
	if err != nil {
		t.Fatal(err)
	}
	if u.Snapshot == nil || len(u.Snapshot.MailAccess) != 1 {
		t.Fatalf("round read %+v; want the one mail read", u)
	}
	var keys []string
	for _, f := range u.Snapshot.Prior {
		keys = append(keys, f.Key)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"by-app-id", "first-party", "on-application", "on-sp"}, keys); diff != "" {
		t.Errorf("prior findings (-want +got):\n%s", diff)
	}
}
