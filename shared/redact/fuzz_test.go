package redact_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/redact"
)

// forms are the places a secret sits in text that reaches Text: error
// messages of the HTTP client and the Azure SDK, connection strings,
// JSON, Go's %+v. %s is the secret.
var forms = []string{
	`Get "https://acct.blob.core.windows.net/reports?restype=container&sv=2022-11-02&sig=%s": dial tcp: i/o timeout`,
	"PUT http://127.0.0.1:10002/devstoreaccount1/Tables?sv=2019-02-02&ss=t&srt=sco&sp=rwdlacu&se=2099-01-01T00%%3A00%%3A00Z&sig=%s\n---\nRESPONSE 403",
	"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=%s;EndpointSuffix=core.windows.net",
	"BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=bt&srt=sco&sp=rwdl&sig=%s",
	"TableEndpoint=http://127.0.0.1:1/a;SharedAccessSignature=%s;BlobEndpoint=http://127.0.0.1:2/a",
	"https://prod-01.westeurope.logic.azure.com:443/workflows/0a1b/triggers/manual/paths/invoke?api-version=2016-06-01&sv=1.0&sig=%s",
	"https://app.azurewebsites.net/api/GraphNotifications?code=%s&validationToken=abc",
	"http://127.0.0.1:7071/api/GraphLifecycle?code=%s",
	"https://user:%s@host.example/path",
	`{"value":[{"subscriptionId":"1","clientState":"%s","changeType":"updated"}]}`,
	`"{\"subscriptionId\":\"1\",\"clientState\":\"%s\"}"`,
	"{ID:1 Resource:users ClientState:%s ExpirationDateTime:2024-01-01}",
	"clientState=%s",
	"Authorization: Bearer %s",
	"sv=2022-11-02&ss=b&srt=co&sp=r&sig=%s&se=2030-01-01",
}

// secretChars is what the planted secrets are made of: base64 (standard
// and URL-safe) and hex, as storage keys, SAS signatures, function keys,
// Workflows signatures and client states are.
var secretChars = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{12,64}$`)

// FuzzText: Text is idempotent and never lets a secret through, whatever
// text surrounds it; it does not panic on any input.
func FuzzText(f *testing.F) {
	for i := range forms {
		f.Add("graph: POST /subscriptions: 400 InvalidRequest:", "(check the url)", "Qm9ndXNTZWNyZXQxMjM0NTY3OA==", uint8(i))
	}
	f.Add("", "", "abcdefghijklmnop", uint8(0))
	f.Add(`"password": "`, `" https://x/?a=b`, "c2VjcmV0X3ZhbHVlXzEyMw", uint8(9))
	f.Add("https://h/p?x=1 sig=", "&code=y", "0123456789abcdef0123", uint8(5))
	f.Add("AccountKey", "=", "ABCDEFGHIJKL+/==", uint8(2))
	f.Fuzz(func(t *testing.T, prefix, suffix, secret string, form uint8) {
		out := redact.Text(prefix + secret + suffix)
		if again := redact.Text(out); again != out {
			t.Fatalf("not idempotent:\n in %q\nout %q\nagain %q", prefix+secret+suffix, out, again)
		}
		if !secretChars.MatchString(secret) || strings.Contains(prefix, secret) || strings.Contains(suffix, secret) {
			return
		}
		tmpl := forms[int(form)%len(forms)]
		if strings.Contains(tmpl, "Bearer") && len(secret) < 16 {
			return // bearer tokens are 16 characters at least
		}
		if strings.Contains(tmpl, "user:") && strings.ContainsAny(secret, "/") {
			return // a '/' in user information is escaped in a real URL
		}
		text := prefix + " " + strings.ReplaceAll(strings.ReplaceAll(tmpl, "%%", "%"), "%s", secret) + " " + suffix
		out = redact.Text(text)
		for _, s := range []string{secret, url.QueryEscape(secret)} {
			if strings.Contains(out, s) {
				t.Fatalf("secret %q survived:\n in %q\nout %q", s, text, out)
			}
		}
	})
}
