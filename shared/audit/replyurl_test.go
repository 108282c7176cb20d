package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAddresses(t *testing.T) {
	t.Parallel()
	appAddress := `[{"AddressType":0,"Address":"https://a/","ReplyAddressClientType":1,"ReplyAddressIndex":null,"IsReplyAddressDefault":false},{"AddressType":0,"Address":" https://b/ "},{"Address":""},{"Other":"x"}]`
	tests := []struct {
		raw  string
		want []string
	}{
		{appAddress, []string{"https://a/", "https://b/"}},
		{`["https://a/","https://a/"," https://c/"]`, []string{"https://a/", "https://c/"}},
		{`"[\"https://a/\"]"`, []string{"https://a/"}},
		{`https://plain/`, []string{"https://plain/"}},
		{``, nil},
		{`null`, nil},
		{`[1, true, null, [], {}]`, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseAddresses(tt.raw)); diff != "" {
			t.Errorf("parseAddresses(%q) (-want +got):\n%s", tt.raw, diff)
		}
	}
	if diff := cmp.Diff([]string{"https://a/", "https://z/"}, addedAddresses([]string{"https://b/"}, []string{"https://z/", "https://b/", "https://a/", "https://z/"})); diff != "" {
		t.Errorf("addedAddresses (-want +got):\n%s", diff)
	}
	if got := addedAddresses([]string{"https://A/"}, []string{"https://a/"}); len(got) != 1 {
		t.Errorf("addresses compare exactly; got %v", got)
	}
}

// TestReplyURLChangeAdded: the union over both properties, sorted and
// without repeats; a property that adds nothing is not named.
func TestReplyURLChangeAdded(t *testing.T) {
	t.Parallel()
	c := ReplyURLChange{
		AppAddress: &Change[string]{Property: "AppAddress", Old: []string{"https://a/"}, New: []string{"https://z/", "https://a/"}},
		ReplyUrls:  &Change[string]{Property: "replyurls", Old: nil, New: []string{"https://z/", "https://b/"}},
	}
	addrs, props := c.Added()
	if diff := cmp.Diff([]string{"https://b/", "https://z/"}, addrs); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AppAddress", "replyurls"}, props); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	c.AppAddress.New = c.AppAddress.Old
	if _, props := c.Added(); len(props) != 1 || props[0] != "replyurls" {
		t.Errorf("properties = %q, want only replyurls", props)
	}
	if addrs, props := (ReplyURLChange{}).Added(); addrs != nil || props != nil {
		t.Errorf("empty change: %q %q", addrs, props)
	}
}
