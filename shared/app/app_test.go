package app_test

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/graph"
)

type noCredential struct{}

func (noCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, nil
}

// TestDefaultGraphURL: the settings' default Graph URL is one the Graph
// client accepts (a deployment sets no TENANTWATCH_GRAPH_URL).
func TestDefaultGraphURL(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		if k == "AzureWebJobsStorage" {
			return "UseDevelopmentStorage=true"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graph.NewClient(cfg.GraphURL, graph.AuthAzure, &graph.ClientOptions{Credential: noCredential{}}); err != nil {
		t.Fatalf("the default TENANTWATCH_GRAPH_URL %q is refused: %v", cfg.GraphURL, err)
	}
}
