package graph

import (
	"context"
	"strings"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	"github.com/microsoft/kiota-abstractions-go/store"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// The tests compare api with the SDK's root package, which only tests
// import: the deployed code must not link it (shared/pack's test).

// TestClientOptionsAreTheSDKs: the adapter and the telemetry middleware get
// the options msgraph-sdk-go's root package would give them (its version,
// for the SdkVersion header): bump clientOptions with the SDK.
func TestClientOptionsAreTheSDKs(t *testing.T) {
	if got, want := clientOptions, msgraphsdk.GetDefaultClientOptions(); got != want {
		t.Errorf("clientOptions = %+v, msgraph-sdk-go's = %+v", got, want)
	}
}

// noBackingStore keeps the SDK's client from setting kiota's package-level
// backing-store factory while other tests parse responses.
type noBackingStore struct {
	*msgraphcore.GraphRequestAdapterBase
}

func (noBackingStore) EnableBackingStore(store.BackingStoreFactory) {}

// TestAPIBuildsTheSDKsRequests: every entry point of api, and the paths
// the reads take from it, build the request URL that msgraph-sdk-go's
// GraphServiceClient builds, a path prefix in the Graph root included.
func TestAPIBuildsTheSDKsRequests(t *testing.T) {
	ctx := context.Background()
	for _, base := range []string{"https://graph.microsoft.com/v1.0", "http://127.0.0.1:8080/prefix/graph/v1.0"} {
		core, err := msgraphcore.NewGraphRequestAdapterBase(&absauth.AnonymousAuthenticationProvider{}, clientOptions)
		if err != nil {
			t.Fatal(err)
		}
		core.SetBaseUrl(base)
		adapter := noBackingStore{core}
		ours := api{adapter: adapter, baseURL: base}
		sdk := msgraphsdk.NewGraphServiceClient(adapter)
		type build func() (*abstractions.RequestInformation, error)
		for _, tc := range []struct {
			name         string
			ours, theirs build
		}{
			{"applications",
				func() (*abstractions.RequestInformation, error) {
					return ours.Applications().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Applications().ToGetRequestInformation(ctx, nil)
				}},
			{"applications/delta",
				func() (*abstractions.RequestInformation, error) {
					return ours.Applications().Delta().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Applications().Delta().ToGetRequestInformation(ctx, nil)
				}},
			{"auditLogs/directoryAudits",
				func() (*abstractions.RequestInformation, error) {
					return ours.AuditLogs().DirectoryAudits().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.AuditLogs().DirectoryAudits().ToGetRequestInformation(ctx, nil)
				}},
			{"auditLogs/signIns",
				func() (*abstractions.RequestInformation, error) {
					return ours.AuditLogs().SignIns().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.AuditLogs().SignIns().ToGetRequestInformation(ctx, nil)
				}},
			{"groups",
				func() (*abstractions.RequestInformation, error) {
					return ours.Groups().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Groups().ToGetRequestInformation(ctx, nil)
				}},
			{"identity/conditionalAccess/policies",
				func() (*abstractions.RequestInformation, error) {
					return ours.Identity().ConditionalAccess().Policies().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Identity().ConditionalAccess().Policies().ToGetRequestInformation(ctx, nil)
				}},
			{"identity/conditionalAccess/namedLocations",
				func() (*abstractions.RequestInformation, error) {
					return ours.Identity().ConditionalAccess().NamedLocations().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Identity().ConditionalAccess().NamedLocations().ToGetRequestInformation(ctx, nil)
				}},
			{"organization",
				func() (*abstractions.RequestInformation, error) {
					return ours.Organization().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Organization().ToGetRequestInformation(ctx, nil)
				}},
			{"reports/authenticationMethods/userRegistrationDetails",
				func() (*abstractions.RequestInformation, error) {
					return ours.Reports().AuthenticationMethods().UserRegistrationDetails().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Reports().AuthenticationMethods().UserRegistrationDetails().ToGetRequestInformation(ctx, nil)
				}},
			{"servicePrincipals",
				func() (*abstractions.RequestInformation, error) {
					return ours.ServicePrincipals().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.ServicePrincipals().ToGetRequestInformation(ctx, nil)
				}},
			{"servicePrincipals/delta",
				func() (*abstractions.RequestInformation, error) {
					return ours.ServicePrincipals().Delta().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.ServicePrincipals().Delta().ToGetRequestInformation(ctx, nil)
				}},
			{"servicePrincipals/{id}/appRoleAssignedTo",
				func() (*abstractions.RequestInformation, error) {
					return ours.ServicePrincipals().ByServicePrincipalId("0000-sp").AppRoleAssignedTo().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.ServicePrincipals().ByServicePrincipalId("0000-sp").AppRoleAssignedTo().ToGetRequestInformation(ctx, nil)
				}},
			{"subscribedSkus",
				func() (*abstractions.RequestInformation, error) {
					return ours.SubscribedSkus().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.SubscribedSkus().ToGetRequestInformation(ctx, nil)
				}},
			{"subscriptions",
				func() (*abstractions.RequestInformation, error) {
					return ours.Subscriptions().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Subscriptions().ToGetRequestInformation(ctx, nil)
				}},
			{"subscriptions/{id}/reauthorize",
				func() (*abstractions.RequestInformation, error) {
					return ours.Subscriptions().BySubscriptionId("sub-1").Reauthorize().ToPostRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Subscriptions().BySubscriptionId("sub-1").Reauthorize().ToPostRequestInformation(ctx, nil)
				}},
			{"users",
				func() (*abstractions.RequestInformation, error) {
					return ours.Users().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) { return sdk.Users().ToGetRequestInformation(ctx, nil) }},
			{"users/delta",
				func() (*abstractions.RequestInformation, error) {
					return ours.Users().Delta().ToGetRequestInformation(ctx, nil)
				},
				func() (*abstractions.RequestInformation, error) {
					return sdk.Users().Delta().ToGetRequestInformation(ctx, nil)
				}},
		} {
			ri, err := tc.ours()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			want, err := tc.theirs()
			if err != nil {
				t.Fatalf("%s: SDK: %v", tc.name, err)
			}
			got, err := ri.GetUri()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			wantURL, err := want.GetUri()
			if err != nil {
				t.Fatalf("%s: SDK: %v", tc.name, err)
			}
			if got.String() != wantURL.String() || ri.Method != want.Method {
				t.Errorf("%s: %s %s, the SDK's client builds %s %s", tc.name, ri.Method, got, want.Method, wantURL)
			}
			if !strings.HasPrefix(got.String(), base+"/") {
				t.Errorf("%s: %s is not under %s", tc.name, got, base)
			}
		}
	}
}
