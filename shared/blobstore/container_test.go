package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/blobstore"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestNewContainer(t *testing.T) {
	t.Parallel()
	conn := azuritetest.ConnectionString(10000, 10001, 10002)
	tests := []struct {
		name, conn, container, wantErr string
	}{
		{name: "azurite, default container", conn: conn},
		{name: "named container", conn: conn, container: "tw-reports-2"},
		{name: "development shortcut", conn: "UseDevelopmentStorage=true", wantErr: "must be expanded"},
		{name: "malformed", conn: "nonsense", wantErr: "malformed connection string"},
		{name: "upper case container", conn: conn, container: "Reports", wantErr: "invalid container name"},
		{name: "double hyphen", conn: conn, container: "re--ports", wantErr: "invalid container name"},
		{name: "too short", conn: conn, container: "rp", wantErr: "invalid container name"},
		{name: "path", conn: conn, container: "reports/2024", wantErr: "invalid container name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := blobstore.NewContainerFromConnectionString(tc.conn, tc.container, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if _, err := blobstore.NewContainer("", nil, "", nil); err == nil {
		t.Error("NewContainer without URL and credential succeeded")
	}
}

// blobProps is what a test checks of an uploaded blob.
type blobProps struct {
	ContentType, CacheControl string
	Body                      []byte
}

func download(t *testing.T, c *azblob.Client, container, name string) blobProps {
	t.Helper()
	resp, err := c.DownloadStream(t.Context(), container, name, nil)
	if err != nil {
		t.Fatalf("download %s: %v", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return blobProps{ContentType: deref(resp.ContentType), CacheControl: deref(resp.CacheControl), Body: body}
}

func rendered(t *testing.T, d *report.Document, write func(io.Writer, *report.Document) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteReports uploads reports to a private Azurite and reads them
// back: same bytes as the file writers, content types, the UTC day's
// folder, and a second write on the same day replacing the first.
func TestWriteReports(t *testing.T) {
	t.Parallel()
	a := azuritetest.Start(t)
	ctx := t.Context()
	b, err := blobstore.NewContainerFromConnectionString(a.ConnectionString(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatalf("second Init: %v", err)
	}
	raw, err := azblob.NewClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	props, err := raw.ServiceClient().NewContainerClient(blobstore.DefaultContainer).GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.BlobPublicAccess != nil {
		t.Errorf("container public access = %v, want private", *props.BlobPublicAccess)
	}

	// 00:30 on May 2nd in UTC+2 is May 1st in UTC.
	day := time.Date(2024, 5, 2, 0, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))
	tests := []struct {
		name string
		doc  *report.Document
	}{
		{"hostile", hostileDoc()},
		{"same day again: replaced", skippedDoc()},
	}
	for _, tc := range tests {
		w, err := b.WriteReports(ctx, tc.doc, day)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if w.Prefix != "reports/2024/05/01/" {
			t.Errorf("%s: Prefix = %q", tc.name, w.Prefix)
		}
		want := map[string]blobProps{
			report.JSONFile: {"application/json", "no-store", rendered(t, tc.doc, report.WriteJSON)},
			report.CSVFile:  {"text/csv; charset=utf-8", "no-store", rendered(t, tc.doc, report.WriteCSV)},
			report.HTMLFile: {"text/html; charset=utf-8", "no-store", rendered(t, tc.doc, report.WriteHTML)},
			report.OCSFFile: {"application/jsonl", "no-store", rendered(t, tc.doc, report.WriteOCSF)},
		}
		got := make(map[string]blobProps)
		for name := range want {
			got[name] = download(t, raw, blobstore.DefaultContainer, "2024/05/01/"+name)
			wantURL := a.ConnectionString()[strings.Index(a.ConnectionString(), "BlobEndpoint=")+len("BlobEndpoint="):]
			wantURL = wantURL[:strings.Index(wantURL, ";")] + "/reports/2024/05/01/" + name
			if w.URLs[name] != wantURL {
				t.Errorf("%s: URL of %s = %q, want %q", tc.name, name, w.URLs[name], wantURL)
			}
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" { // an empty findings.ocsf.jsonl
			t.Errorf("%s: blobs (-want +got):\n%.3000s", tc.name, diff)
		}
		if len(w.URLs) != 4 {
			t.Errorf("%s: %d URLs, want 4", tc.name, len(w.URLs))
		}
	}
	// A nil document uploads nothing.
	if _, err := b.WriteReports(ctx, nil, day.AddDate(0, 0, 5)); err == nil {
		t.Error("WriteReports(nil) succeeded")
	}
	pager := raw.NewListBlobsFlatPager(blobstore.DefaultContainer, nil)
	n := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Segment.BlobItems)
	}
	if n != 4 {
		t.Errorf("%d blobs in the container, want 4", n)
	}
}

// TestReadPreviousReport: the report a day's report is compared with is
// the latest one dated before that day, within 7 days; none is not an
// error; a blob that is not a findings.json is.
func TestReadPreviousReport(t *testing.T) {
	t.Parallel()
	a := azuritetest.Start(t)
	ctx := t.Context()
	b, err := blobstore.NewContainerFromConnectionString(a.ConnectionString(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	may := func(d int) time.Time { return time.Date(2024, 5, d, 2, 30, 0, 0, time.UTC) }
	if _, found, err := b.ReadPreviousReport(ctx, may(10)); found || err != nil {
		t.Fatalf("empty container: found %v, err %v", found, err)
	}
	older, newer := hostileDoc(), skippedDoc()
	older.GeneratedAt, newer.GeneratedAt = may(1), may(4)
	for _, d := range []*report.Document{older, newer} {
		if _, err := b.WriteReports(ctx, d, d.GeneratedAt); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		day  time.Time
		want time.Time // zero: none found
	}{
		{may(5), may(4)},       // the day before
		{may(9), may(4)},       // days without a report are skipped
		{may(4), may(1)},       // never the day's own report
		{may(12), time.Time{}}, // more than 7 days back
		{may(1), time.Time{}},
	} {
		d, found, err := b.ReadPreviousReport(ctx, tc.day)
		if err != nil {
			t.Fatalf("%v: %v", tc.day, err)
		}
		if found != !tc.want.IsZero() || found && !d.GeneratedAt.Equal(tc.want) {
			t.Errorf("ReadPreviousReport(%v): found %v (%+v), want the report of %v", tc.day, found, d, tc.want)
		}
	}
	raw, err := azblob.NewClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.UploadBuffer(ctx, blobstore.DefaultContainer, "2024/05/19/findings.json", []byte(`{"not":"a report"}`), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.ReadPreviousReport(ctx, may(20)); !errors.Is(err, report.ErrPrevious) {
		t.Errorf("a blob that is not a report: err %v, want report.ErrPrevious", err)
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	a := azuritetest.Start(t)
	ctx := t.Context()
	b, err := blobstore.NewContainerFromConnectionString(a.ConnectionString(), "config", &blobstore.ContainerOptions{MaxGet: 1024})
	if err != nil {
		t.Fatal(err)
	}
	// Before Init the container is missing: not found as well.
	if _, err := b.Get(ctx, "ServiceTags_Public.json"); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("Get before Init = %v, want tenant.ErrNotFound", err)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := azblob.NewClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	small := []byte(`{"values":[]}`)
	for name, data := range map[string][]byte{
		"ServiceTags_Public.json": small,
		"exactly-max.json":        bytes.Repeat([]byte("x"), 1024),
		"too-big.json":            bytes.Repeat([]byte("x"), 1025),
		"dir/with space/é.json":   small,
	} {
		if _, err := raw.UploadBuffer(ctx, "config", name, data, nil); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		want     []byte
		wantErr  string
		notFound bool
	}{
		{name: "ServiceTags_Public.json", want: small},
		{name: "dir/with space/é.json", want: small},
		{name: "exactly-max.json", want: bytes.Repeat([]byte("x"), 1024)},
		{name: "too-big.json", wantErr: "over the 1024 bytes allowed"},
		{name: "missing.json", wantErr: "not found", notFound: true},
		{name: "", wantErr: "empty name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.Get(ctx, tc.name)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tc.want) {
					t.Fatalf("Get = %q, want %q", got, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.ContainsAny(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.wantErr)
			}
			if tc.notFound != errors.Is(err, tenant.ErrNotFound) {
				t.Fatalf("errors.Is(%v, tenant.ErrNotFound) = %v", err, !tc.notFound)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Get(cctx, "ServiceTags_Public.json"); errors.Is(err, tenant.ErrUnreachable) || err == nil {
		t.Errorf("Get with a canceled context = %v, want a plain context error", err)
	}
}

// TestSAS: with a SAS connection string (a form AzureWebJobsStorage
// takes), report URLs — which end up on cards — carry no query, and
// errors never show the SAS.
func TestSAS(t *testing.T) {
	t.Parallel()
	a := azuritetest.Start(t)
	ctx := t.Context()
	conn, err := a.SASConnectionString("rwdlacu", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, sas, _ := strings.Cut(conn, "SharedAccessSignature=")
	q, err := url.ParseQuery(sas)
	if err != nil || q.Get("sig") == "" {
		t.Fatalf("no sig in %q: %v", sas, err)
	}
	secrets := []string{q.Get("sig"), url.QueryEscape(q.Get("sig"))}
	noSecret := func(what, s string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s shows the SAS: %s", what, s)
			}
		}
	}

	b, err := blobstore.NewContainerFromConnectionString(conn, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "missing.json"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Get before Init = %v, want tenant.ErrNotFound", err)
	} else {
		noSecret("Get's error", err.Error())
	}
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := b.WriteReports(ctx, skippedDoc(), time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	wantURL := "http://127.0.0.1:" + strconv.Itoa(a.Port("blob")) + "/" + azuritetest.AccountName + "/reports/2024/05/01/" + report.HTMLFile
	if w.URLs[report.HTMLFile] != wantURL {
		t.Errorf("report URL = %q, want %q", w.URLs[report.HTMLFile], wantURL)
	}
	for _, u := range w.URLs {
		noSecret("a report URL", u)
	}

	readOnly, err := a.SASConnectionString("rl", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ro, err := blobstore.NewContainerFromConnectionString(readOnly, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.WriteReports(ctx, skippedDoc(), time.Now()); err == nil {
		t.Error("a read-only SAS wrote reports")
	} else {
		noSecret("WriteReports' error", err.Error())
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()
	unreachable, err := azuritetest.SASConnectionString(dead, dead, dead, "rwdlacu", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, sas, _ = strings.Cut(unreachable, "SharedAccessSignature=")
	q, _ = url.ParseQuery(sas)
	secrets = append(secrets, q.Get("sig"), url.QueryEscape(q.Get("sig")))
	gone, err := blobstore.NewContainerFromConnectionString(unreachable, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = gone.Init(cctx)
	if !errors.Is(err, tenant.ErrUnreachable) {
		t.Fatalf("Init on a closed port = %v, want tenant.ErrUnreachable", err)
	}
	noSecret("Init's error", err.Error())
	if want := "http://127.0.0.1:" + strconv.Itoa(dead) + "/" + azuritetest.AccountName + "/reports"; !strings.Contains(err.Error(), want) {
		t.Errorf("Init's error %q does not name %s", err, want)
	}
}

// hostileDoc is a report on tenant-controlled names: markup, a formula,
// a terminal escape and a bidirectional override.
func hostileDoc() *report.Document {
	return &report.Document{
		GeneratedAt: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		TenantID:    "11111111-2222-3333-4444-555555555555",
		TenantName:  "Contoso <script>alert(1)</script>",
		Since:       time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC),
		Version:     "1.0.0-test",
		Rules: []tenant.Rule{{ID: "sp.credential-added", Title: "Credential added to a service principal",
			Severity: tenant.SeverityHigh, MITRE: []string{"T1098.001"}, Sources: []tenant.Source{tenant.SourceServicePrincipals}}},
		Findings: []tenant.Finding{{
			Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "Credential added to a service principal",
			Subject:    tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "aaaaaaaa-0000-0000-0000-000000000001", Name: `"><img src=x onerror=alert(1)>`},
			MITRE:      []string{"T1098.001"},
			ObservedAt: time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC),
			Key:        "sp.credential-added:aaaaaaaa-0000-0000-0000-000000000001:key-1",
			Evidence:   map[string]any{"credentialName": "=HYPERLINK(\"https://evil.example\",\"x\")", "actor": "\x1b[2Jroot invoice\u202Efdp.exe"},
		}},
	}
}

// skippedDoc is a report with nothing found and a rule skipped.
func skippedDoc() *report.Document {
	return &report.Document{
		GeneratedAt: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		TenantID:    "11111111-2222-3333-4444-555555555555",
		TenantName:  "Fabrikam",
		Version:     "1.0.0-test",
		Rules:       []tenant.Rule{{ID: "signin.azure-ip", Title: "Sign-in from Azure address space", Severity: tenant.SeverityLow}},
		Skipped:     []tenant.Skipped{{Rule: "signin.azure-ip", Reason: "azureIpRanges: no Service Tags file given"}},
		Unavailable: map[tenant.Source]string{tenant.SourceAzureRanges: "no Service Tags file given"},
	}
}
