package redact_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/redact"
)

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://acct.blob.core.windows.net/reports?sv=2023-01-03&sig=AbC%2Bd%3D", "https://acct.blob.core.windows.net/reports"},
		{"https://user:pa55@host.example:8443/p/q?x=1#frag", "https://host.example:8443/p/q"},
		{"https://prod-1.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRET",
			"https://prod-1.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"},
		{"http://127.0.0.1:7071/api/GraphNotifications?code=FUNCKEY", "http://127.0.0.1:7071/api/GraphNotifications"},
		{"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=TOKEN", "https://graph.microsoft.com/v1.0/users/delta"},
		{"https://host?sig=x", "https://host"},
		{"https://host#frag", "https://host"},
		{"https://u:p@host", "https://host"},
		{"https://u:p?q@host/path", "https://" + redact.Mark}, // '@' and '?' before the first '/': ambiguous
		{"https://host/p@th?x=1", "https://host/p@th"},
		{"https://host/path", "https://host/path"},
		{"not a url?sig=x", "not a url"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := redact.URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"url.Error", `Put "http://127.0.0.1:10002/devstoreaccount1/Tables?sv=2019-02-02&ss=t&sig=AbCd%2Bef%3D": dial tcp 127.0.0.1:10002: connect: connection refused`,
			`Put "http://127.0.0.1:10002/devstoreaccount1/Tables": dial tcp 127.0.0.1:10002: connect: connection refused`},
		{"azcore.ResponseError", "PUT http://127.0.0.1:10000/devstoreaccount1/reports?restype=container&sig=SIG\n" +
			"--------------------------------------------------------------------------------\nRESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationFailure",
			"PUT http://127.0.0.1:10000/devstoreaccount1/reports\n" +
				"--------------------------------------------------------------------------------\nRESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationFailure"},
		{"account key connection string", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02x/K1+BHBeksoGMGw==;EndpointSuffix=core.windows.net",
			"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[redacted];EndpointSuffix=core.windows.net"},
		{"SAS connection string", "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=bt&srt=sco&sp=rwdl&sig=SIG%3D",
			"BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=[redacted]"},
		{"SAS with the endpoint after it", "SharedAccessSignature=sv=1&sig=SIG;TableEndpoint=http://h:1/a", "SharedAccessSignature=[redacted];TableEndpoint=http://h:1/a"},
		{"bare SAS token", "sv=2022-11-02&ss=b&sig=R2l2ZU1lVGhlS2V5&se=2030", "sv=2022-11-02&ss=b&sig=[redacted]&se=2030"},
		{"function key", "key code=FUNCTIONKEY1234 rejected", "key code=[redacted] rejected"},
		{"clientState JSON", `{"subscriptionId":"s","clientState":"S3cr3tState","resource":"users"}`, `{"subscriptionId":"s","clientState":"[redacted]","resource":"users"}`},
		{"clientState JSON inside a JSON string", `"{\"clientState\":\"S3cr3tState\",\"x\":1}"`, `"{\"clientState\":\"[redacted]\",\"x\":1}"`},
		{"clientState %+v", "{ID:s1 ClientState:S3cr3tState Resource:users}", "{ID:s1 ClientState:[redacted] Resource:users}"},
		{"clientState query", "clientState=S3cr3tState&x=1", "clientState=[redacted]&x=1"},
		{"bearer token", "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwcz.sig-part", "Authorization: Bearer [redacted]"},
		{"prose is kept", "needs a bearer token for Resource Manager; error code 403; the code= parameter; has no sig= parameter", "needs a bearer token for Resource Manager; error code 403; the code= parameter; has no sig= parameter"},
		{"error codes are kept", `ERROR CODE: AuthorizationFailure {"error":{"code":"InvalidAuthenticationToken","message":"m"}}`,
			`ERROR CODE: AuthorizationFailure {"error":{"code":"InvalidAuthenticationToken","message":"m"}}`},
		{"words ending in a key name are kept", "statuscode=403 errorcode=x mysig=y", "statuscode=403 errorcode=x mysig=y"},
		{"punctuation after a query is kept", "(see https://h/p?sig=abc). Then https://h/q?code=k;", "(see https://h/p). Then https://h/q;"},
		{"angle brackets inside a query", "<https://h/p?x=<y>&sig=abc> next", "<https://h/p next"},
		{"several URLs", "a https://h/p?sig=1 b http://u:pw@k/q c", "a https://h/p b http://k/q c"},
		{"nothing to do", "graph: GET /users: 403 Authorization_RequestDenied", "graph: GET /users: 403 Authorization_RequestDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.Text(tc.in)
			if got != tc.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if again := redact.Text(got); again != got {
				t.Errorf("Text is not idempotent: %q → %q", got, again)
			}
		})
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	got := redact.Values("the signature a+b/c=d1234 and a%2Bb%2Fc%3Dd1234 and short1 are wrong", "a+b/c=d1234", "short1")
	want := "the signature [redacted] and [redacted] and short1 are wrong"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type typedErr struct{ url string }

func (e *typedErr) Error() string { return "typed: " + e.url }

func TestError(t *testing.T) {
	t.Parallel()
	if redact.Error(nil) != nil {
		t.Fatal("Error(nil) != nil")
	}
	cause := &url.Error{Op: "Get", URL: "https://acct.blob.core.windows.net/c/b?sig=SECRETSIG", Err: fs.ErrNotExist}
	typed := &typedErr{url: "https://h/p?code=SECRETKEY"}
	err := redact.Error(fmt.Errorf("read: %w", errors.Join(cause, typed)))
	if msg := err.Error(); strings.Contains(msg, "SECRET") || !strings.Contains(msg, "https://acct.blob.core.windows.net/c/b") {
		t.Errorf("message %q: secret kept or host and path lost", msg)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("errors.Is lost the sentinel")
	}
	var ue *url.Error
	var te *typedErr
	if !errors.As(err, &ue) || !errors.As(err, &te) {
		t.Error("errors.As lost a typed cause")
	}
	if again := redact.Error(err); again != err {
		t.Error("redacting twice wrapped twice")
	}
	if got := fmt.Errorf("outer: %w", err).Error(); strings.Contains(got, "SECRET") {
		t.Errorf("wrapping shows the secret: %q", got)
	}
	known := redact.Error(errors.New("the server said: signature PlantedValue1 is wrong"), "PlantedValue1")
	if got := known.Error(); got != "the server said: signature [redacted] is wrong" {
		t.Errorf("a known secret value: %q", got)
	}
}

type stringer struct{}

func (stringer) String() string { return "https://h/p?sig=SECRETSTRINGER" }

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("code=SECRETVALUER") }

func TestHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	u, _ := url.Parse("https://u:SECRETPASSWORD@h/p?x=1")
	log = log.With("bound", "https://h/bound?sig=SECRETBOUND")
	log.WithGroup("g").Info("posted to https://h/msg?code=SECRETMSG",
		"err", &url.Error{Op: "Post", URL: "https://h/err?sig=SECRETERR", Err: http.ErrHandlerTimeout},
		"url", u,
		"stringer", stringer{},
		"valuer", valuer{},
		"bytes", []byte("AccountKey=SECRETBYTES;"),
		"struct", struct{ ClientState string }{"SECRETSTRUCT"},
		"map", map[string]string{"u": "https://h/?sig=SECRETMAP"},
		slog.Group("grp", "inner", "SharedAccessSignature=SECRETGROUP"),
		"status", 403,
	)
	out := buf.String()
	if strings.Contains(out, "SECRET") {
		t.Errorf("a secret reached the log:\n%s", out)
	}
	for _, want := range []string{"https://h/msg", "https://h/err", "https://h/p", "status=403", "bound=https://h/bound"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled does not follow the wrapped handler")
	}
}

func ExampleText() {
	fmt.Println(redact.Text(`Put "https://acct.table.core.windows.net/Tables?sv=2019-02-02&sig=c2VjcmV0": dial tcp: i/o timeout`))
	fmt.Println(redact.Text("AccountName=acct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net"))
	// Output:
	// Put "https://acct.table.core.windows.net/Tables": dial tcp: i/o timeout
	// AccountName=acct;AccountKey=[redacted];EndpointSuffix=core.windows.net
}
