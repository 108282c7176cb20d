package graph

import (
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// FuzzForeignLink: a link the check accepts is an absolute link to the
// client's Graph root and the collection.
func FuzzForeignLink(f *testing.F) {
	for _, s := range []string{
		"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc",
		"https://GRAPH.microsoft.com:443/v1.0/Users/delta()?$skiptoken=x",
		"https://graph.microsoft.com/v1.0/servicePrincipals/delta?$deltatoken=abc",
		"https://graph.microsoft.com.evil.example/v1.0/users/delta",
		"https://graph.microsoft.com@evil.example/v1.0/users/delta",
		"http://graph.microsoft.com/v1.0/users/delta",
		"//graph.microsoft.com/v1.0/users/delta",
		"https://graph.microsoft.com/v1.0/users/../../beta/users/delta",
		"",
	} {
		f.Add(s)
	}
	c := &Client{base: "https://graph.microsoft.com/v1.0"}
	f.Fuzz(func(t *testing.T, link string) {
		if c.foreignLink(link, "/users/") != "" {
			return
		}
		u, err := url.Parse(link)
		if err != nil || !strings.EqualFold(u.Scheme, "https") {
			t.Fatalf("accepted %q: err %v", link, err)
		}
		if !strings.EqualFold(u.Hostname(), "graph.microsoft.com") || port(u) != "443" {
			t.Fatalf("accepted %q: host %q port %q", link, u.Host, port(u))
		}
		if !strings.HasPrefix(strings.ToLower(u.Path), "/v1.0/users/") {
			t.Fatalf("accepted %q: path %q", link, u.Path)
		}
	})
}

// FuzzInChunks: whatever the ids, every filter is `id in (…)` of quoted
// lower-case GUIDs, at most maxFilterIDs of them, and no id twice.
func FuzzInChunks(f *testing.F) {
	f.Add("6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0", "6EA91A8D-E32E-41A1-B7BD-D2D185EED0E0", "x') or true or ('")
	f.Add("", " 4562bcc8-c436-4f95-b7c0-4f8ce89dca5e", "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e'")
	one := regexp.MustCompile(`^'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'$`)
	c := &Client{log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, a, b, d string) {
		ids := []string{a, b, d, a + b, strings.ToUpper(d)}
		seen := map[string]bool{}
		err := c.inChunks(t.Context(), "id", ids, func(filter string) error {
			inner, ok := strings.CutPrefix(filter, "id in (")
			inner, ok2 := strings.CutSuffix(inner, ")")
			if !ok || !ok2 {
				t.Fatalf("filter %q", filter)
			}
			parts := strings.Split(inner, ",")
			if len(parts) > maxFilterIDs {
				t.Fatalf("%d ids in one filter", len(parts))
			}
			for _, p := range parts {
				if !one.MatchString(p) || seen[p] {
					t.Fatalf("filter %q: bad or repeated literal %q", filter, p)
				}
				seen[p] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
