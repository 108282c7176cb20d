package graph_test

import (
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graph"
)

// TestAuthAzureNeedsACredential: the client builds no credential of its
// own (shared/identity does, once per process): AuthAzure without one is
// refused, AuthNone needs none.
func TestAuthAzureNeedsACredential(t *testing.T) {
	t.Parallel()
	for _, opts := range []*graph.ClientOptions{nil, {}} {
		if _, err := graph.NewClient("https://graph.microsoft.com", graph.AuthAzure, opts); err == nil ||
			!strings.Contains(err.Error(), "auth azure needs a credential") {
			t.Errorf("NewClient(AuthAzure, %+v) = %v, want the missing credential named", opts, err)
		}
	}
	if _, err := graph.NewClient("http://127.0.0.1:1", graph.AuthNone, nil); err != nil {
		t.Errorf("NewClient(AuthNone, nil) = %v", err)
	}
}
