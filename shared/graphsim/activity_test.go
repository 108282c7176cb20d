package graphsim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

const tinyTenantID = "11111111-2222-4333-8444-555555555555"

// tinyActivity is a feed of five Audit.Exchange blobs: three in the last
// day, one four days back, one that becomes available in an hour (a late
// blob), and one Audit.General blob.
const tinyActivity = `{
  "subscriptions": [{"contentType": "Audit.Exchange"}, {"contentType": "Audit.General"}],
  "content": [
    {"//": "dropped", "contentType": "Audit.Exchange", "contentCreated": "now-4d", "records": [{"CreationTime": "now-4d1h", "Id": "r0", "Operation": "Set-Mailbox", "RecordType": 1, "Parameters": [{"Name": "AuditEnabled", "Value": "True"}]}]},
    {"contentType": "Audit.Exchange", "contentCreated": "now-3h", "records": [{"CreationTime": "now-3h30m", "Id": "r1", "Operation": "MailItemsAccessed", "RecordType": 50}]},
    {"contentType": "Audit.Exchange", "contentCreated": "now-2h", "records": [{"CreationTime": "now-5h", "Id": "r2", "Operation": "MailItemsAccessed", "RecordType": 50}]},
    {"contentType": "Audit.Exchange", "contentCreated": "now-1h", "records": [{"CreationTime": "now-1h10m", "Id": "r3", "Operation": "MailItemsAccessed", "RecordType": 50}]},
    {"contentType": "Audit.Exchange", "contentCreated": "now+1h", "records": [{"CreationTime": "now-10m", "Id": "r4", "Operation": "MailItemsAccessed", "RecordType": 50}]},
    {"contentType": "Audit.General", "contentCreated": "now-1h", "records": [{"CreationTime": "now-1h", "Id": "g1", "Operation": "Other", "RecordType": 25}]}
  ]
}`

const feedBase = base + "/api/v1.0/" + tinyTenantID + "/activity/feed"

func activitySim(t *testing.T, o *graphsim.Options) *graphsim.Server {
	t.Helper()
	if o == nil {
		o = &graphsim.Options{}
	}
	if o.Scenario == nil {
		o.Scenario = tinyTenant(map[string]string{graphsim.ActivityFile: tinyActivity})
	}
	if o.Clock == nil {
		o.Clock = func() time.Time { return testNow }
	}
	return newSim(t, o)
}

type apiErrBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

func activityErr(t *testing.T, r response) apiErrBody {
	t.Helper()
	var e apiErrBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	return e
}

func post(t *testing.T, h http.Handler, method, url, body string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	h.ServeHTTP(rec, httptest.NewRequest(method, url, rd))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// TestActivityListing: listings page through NextPageUri (same window, a
// nextPage id, the request's host and prefix), hold only the blobs of the
// content type that became available in [startTime, endTime) and by
// Clock, in the order they became available; windows the reference
// forbids answer AF20030.
func TestActivityListing(t *testing.T) {
	sim := activitySim(t, &graphsim.Options{ActivityPageSize: 2})
	h := sim.Handler()
	start := testNow.Add(-24 * time.Hour).Format("2006-01-02T15:04:05")
	url := feedBase + "/subscriptions/content?contentType=Audit.Exchange&startTime=" + start + "&endTime=" + testNow.Format("2006-01-02T15:04:05")
	var ids []string
	pages := 0
	for url != "" {
		r := get(t, h, url)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", url, r.status, r.body)
		}
		pages++
		var page []map[string]string
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if !strings.HasPrefix(e["contentUri"], feedBase+"/audit/") || e["contentType"] != "Audit.Exchange" ||
				!strings.HasSuffix(e["contentCreated"], ".000Z") || e["contentExpiration"] == "" {
				t.Errorf("entry %v", e)
			}
			ids = append(ids, e["contentId"])
		}
		url = r.header.Get("NextPageUri")
		if url != "" && (!strings.HasPrefix(url, feedBase+"/subscriptions/content?") || !strings.Contains(url, "startTime="+start) || !strings.Contains(url, "nextPage=")) {
			t.Errorf("NextPageUri %s", url)
		}
	}
	if len(ids) != 3 || pages != 2 {
		t.Fatalf("%d blobs in %d pages, want 3 in 2 (the late and the 4-day-old blobs are outside): %v", len(ids), pages, ids)
	}
	blobs := sim.ActivityContent()
	if want := []string{blobs[1].ContentID, blobs[2].ContentID, blobs[3].ContentID}; !slices.Equal(ids, want) {
		t.Errorf("listed %v, want %v (the order they became available)", ids, want)
	}

	// The blob holds the records, CreationTime as the API writes it.
	r := get(t, h, feedBase+"/audit/"+ids[1])
	var recs []map[string]any
	if err := json.Unmarshal(r.body, &recs); err != nil || r.status != 200 {
		t.Fatalf("blob: %d %s", r.status, r.body)
	}
	if len(recs) != 1 || recs[0]["Id"] != "r2" || recs[0]["CreationTime"] != testNow.Add(-5*time.Hour).Format("2006-01-02T15:04:05") {
		t.Errorf("blob records %v", recs)
	}

	for _, tc := range []struct{ name, query, code string }{
		{"more than 24 hours", "&startTime=" + testNow.Add(-25*time.Hour).Format("2006-01-02T15:04") + "&endTime=" + testNow.Format("2006-01-02T15:04"), "AF20030"},
		{"more than 7 days back", "&startTime=" + testNow.Add(-8*24*time.Hour).Format("2006-01-02") + "&endTime=" + testNow.Add(-7*24*time.Hour-time.Hour).Format("2006-01-02T15:04"), "AF20030"},
		{"only a start", "&startTime=" + testNow.Add(-time.Hour).Format("2006-01-02T15:04"), "AF20030"},
		{"a bad nextPage", "&startTime=" + start + "&endTime=" + testNow.Format("2006-01-02T15:04:05") + "&nextPage=zzz", "AF20031"},
	} {
		r := get(t, h, feedBase+"/subscriptions/content?contentType=Audit.Exchange"+tc.query)
		if r.status != 400 || activityErr(t, r).Error.Code != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, r.status, r.body, tc.code)
		}
	}
	// Omitted bounds: the last 24 hours.
	if r := get(t, h, feedBase+"/subscriptions/content?contentType=Audit.Exchange"); r.status != 200 || bytes.Count(r.body, []byte("contentId")) != 2 {
		t.Errorf("default window: %d %s", r.status, r.body)
	}
}

// TestActivitySubscriptions: start, list and stop as documented; without a
// subscription, listing and fetching answer AF20022; an unknown content
// type AF20020.
func TestActivitySubscriptions(t *testing.T) {
	sim := activitySim(t, &graphsim.Options{ActivityUnsubscribed: true})
	h := sim.Handler()
	if r := get(t, h, feedBase+"/subscriptions/list"); r.status != 200 || string(bytes.TrimSpace(r.body)) != "[]" {
		t.Errorf("list: %d %s", r.status, r.body)
	}
	list := feedBase + "/subscriptions/content?contentType=Audit.Exchange"
	if r := get(t, h, list); r.status != 400 || activityErr(t, r).Error.Code != "AF20022" {
		t.Errorf("content without a subscription: %d %s", r.status, r.body)
	}
	if r := get(t, h, feedBase+"/audit/"+sim.ActivityContent()[1].ContentID); r.status != 400 || activityErr(t, r).Error.Code != "AF20022" {
		t.Errorf("blob without a subscription: %d %s", r.status, r.body)
	}
	if r := post(t, h, http.MethodPost, feedBase+"/subscriptions/start?contentType=Audit.Nope", ""); r.status != 400 || activityErr(t, r).Error.Code != "AF20020" {
		t.Errorf("unknown content type: %d %s", r.status, r.body)
	}
	r := post(t, h, http.MethodPost, feedBase+"/subscriptions/start?contentType=Audit.Exchange", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"contentType":"Audit.Exchange","status":"enabled","webhook":null`) {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	if r := get(t, h, list); r.status != 200 {
		t.Errorf("content after start: %d %s", r.status, r.body)
	}
	if got := sim.ActivitySubscriptions(); !slices.Equal(got, []string{"Audit.Exchange"}) {
		t.Errorf("subscriptions %v", got)
	}
	if r := post(t, h, http.MethodPost, feedBase+"/subscriptions/stop?contentType=Audit.Exchange", ""); r.status != 200 {
		t.Errorf("stop: %d %s", r.status, r.body)
	}
	if r := get(t, h, list); r.status != 400 {
		t.Errorf("content after stop: %d", r.status)
	}
	if r := get(t, h, feedBase+"/subscriptions/start?contentType=Audit.Exchange"); r.status != 405 {
		t.Errorf("GET start: %d", r.status)
	}
}

// TestActivityWebhookValidation: a webhook is validated with
// Webhook-ValidationCode (and Webhook-AuthID) before the subscription is
// started; an endpoint that does not answer 200 leaves it unchanged
// (AF20021).
func TestActivityWebhookValidation(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	var got http.Header
	var body map[string]string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(hook.Close)
	sim := activitySim(t, &graphsim.Options{ActivityUnsubscribed: true, AllowHTTPNotificationURL: true})
	h := sim.Handler()
	start := feedBase + "/subscriptions/start?contentType=Audit.Exchange"
	r := post(t, h, http.MethodPost, start, `{"webhook":{"address":"`+hook.URL+`/hook","authId":"shared-secret-1","expiration":""}}`)
	if r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	if got.Get("Webhook-AuthID") != "shared-secret-1" || got.Get("Webhook-ValidationCode") == "" || body["validationCode"] != got.Get("Webhook-ValidationCode") {
		t.Errorf("validation request headers %v body %v", got, body)
	}
	if l := get(t, h, feedBase+"/subscriptions/list"); !strings.Contains(string(l.body), `"address":"`+hook.URL+`/hook","authId":"shared-secret-1","expiration":null`) {
		t.Errorf("list: %s", l.body)
	}
	status.Store(500)
	r = post(t, h, http.MethodPost, feedBase+"/subscriptions/start?contentType=Audit.General", `{"webhook":{"address":"`+hook.URL+`/hook"}}`)
	if r.status != 400 || activityErr(t, r).Error.Code != "AF20021" || slices.Contains(sim.ActivitySubscriptions(), "Audit.General") {
		t.Errorf("failed validation: %d %s %v", r.status, r.body, sim.ActivitySubscriptions())
	}
	r = post(t, h, http.MethodPost, feedBase+"/subscriptions/start?contentType=Audit.General", `{"webhook":{"address":"http://hook.example/x"}}`)
	if r.status != 400 || !strings.Contains(activityErr(t, r).Error.Message, "must begin with HTTPS") {
		t.Errorf("http webhook: %d %s", r.status, r.body)
	}
}

// TestActivityFaults: the refusals the client maps to sentinels.
func TestActivityFaults(t *testing.T) {
	tests := []struct {
		name   string
		opts   graphsim.Options
		status int
		code   string
		msg    string
	}{
		{"forbidden", graphsim.Options{ActivityFault: graphsim.ActivityForbidden}, 403, "AF10001", "ActivityFeed.Read"},
		{"not granted", graphsim.Options{Permissions: []string{"User.Read.All"}}, 403, "AF10001", "ActivityFeed.Read"},
		{"auditing disabled", graphsim.Options{ActivityFault: graphsim.ActivityAuditingDisabled}, 400, "ListContent [TenantId=" + tinyTenantID,
			"Microsoft.Office.Compliance.Audit.DataServiceException: Tenant " + tinyTenantID + " does not exist."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := activitySim(t, &tc.opts)
			r := get(t, sim.Handler(), feedBase+"/subscriptions/content?contentType=Audit.Exchange")
			e := activityErr(t, r)
			if r.status != tc.status || !strings.HasPrefix(e.Error.Code, tc.code) || !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
	}
	if _, err := graphsim.New(&graphsim.Options{Scenario: tinyTenant(nil), ActivityFault: "nope"}); err == nil {
		t.Error("unknown ActivityFault accepted")
	}
	sim := activitySim(t, nil)
	if r := get(t, sim.Handler(), base+"/api/v1.0/22222222-2222-4333-8444-555555555555/activity/feed/subscriptions/list"); r.status != 400 || activityErr(t, r).Error.Code != "AF20011" {
		t.Errorf("another tenant: %d %s", r.status, r.body)
	}
}

// TestActivityFeedThroughTheClient reads the feed with the production
// client: a window of 5 days (five slices), pages of one blob, every blob
// of the window once, the late blob only once Clock has passed it.
func TestActivityFeedThroughTheClient(t *testing.T) {
	clock := testNow
	sim := activitySim(t, &graphsim.Options{ActivityPageSize: 1, Clock: func() time.Time { return clock }})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	c, err := activityfeed.NewClient(srv.URL+"/tenant-a", tinyTenantID, nil, &activityfeed.ClientOptions{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	read := func() []string {
		var got []string
		err := c.Content(t.Context(), activityfeed.ContentTypeExchange, clock.Add(-5*24*time.Hour), clock, func(id string, body io.Reader) error {
			var recs []map[string]any
			if err := json.NewDecoder(body).Decode(&recs); err != nil {
				return err
			}
			for _, r := range recs {
				got = append(got, r["Id"].(string))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read(); !slices.Equal(got, []string{"r0", "r1", "r2", "r3"}) {
		t.Errorf("records %v", got)
	}
	clock = testNow.Add(2 * time.Hour)
	if got := read(); !slices.Contains(got, "r4") {
		t.Errorf("the late blob is not read once available: %v", got)
	}

	denied := activitySim(t, &graphsim.Options{ActivityFault: graphsim.ActivityAuditingDisabled})
	srv2 := httptest.NewServer(denied.Handler())
	t.Cleanup(srv2.Close)
	c2, err := activityfeed.NewClient(srv2.URL, tinyTenantID, nil, &activityfeed.ClientOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	err = c2.Content(t.Context(), activityfeed.ContentTypeExchange, testNow.Add(-time.Hour), testNow, func(string, io.Reader) error { return nil })
	if !errors.Is(err, tenant.ErrAuditingDisabled) {
		t.Errorf("auditing disabled: %v", err)
	}
}
