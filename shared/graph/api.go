package graph

import (
	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	formserialization "github.com/microsoft/kiota-serialization-form-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	multipartserialization "github.com/microsoft/kiota-serialization-multipart-go"
	textserialization "github.com/microsoft/kiota-serialization-text-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/devices"
	"github.com/microsoftgraph/msgraph-sdk-go/domains"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/identity"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/subscriptions"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// api is the root of the Graph v1.0 request builders the reads and the
// subscription calls start from: the entry points of msgraph-sdk-go's
// GraphServiceClient that this package uses, with the same names, built
// from the generated sub-packages' constructors on the core request
// adapter. The SDK's root package is not imported: its client has a method
// for every Graph API, and importing it links all of them (more than half
// of the deployed binary).
//
// Each builder gets the path parameter the generated client gives it,
// baseurl (graphURL + "/v1.0"), which the adapter also sets on every
// request it sends.
type api struct {
	adapter abstractions.RequestAdapter
	baseURL string
}

// params returns fresh root path parameters (the builders copy them too).
func (a api) params() map[string]string { return map[string]string{"baseurl": a.baseURL} }

// clientOptions are the options msgraph-sdk-go's root package gives its
// request adapter and middleware: the SDK version the telemetry middleware
// reports in the SdkVersion header. A test holds them to the SDK's own.
var clientOptions = msgraphcore.GraphClientOptions{GraphServiceLibraryVersion: "1.89.0"}

// serializers returns what the generated client registers when it is built
// (JSON, text and form parsing; JSON, text, form and multipart writing), in
// registries of the adapter's own rather than kiota's package-level ones.
// Nothing enables the backing store: the only bodies this package sends
// (subscriptions) are built fresh with just the properties to send, and
// the backing-store proxies only matter for bodies made from parsed models.
func serializers() (serialization.ParseNodeFactory, serialization.SerializationWriterFactory) {
	parse := serialization.NewParseNodeFactoryRegistry()
	for _, f := range []serialization.ParseNodeFactory{
		jsonserialization.NewJsonParseNodeFactory(),
		textserialization.NewTextParseNodeFactory(),
		formserialization.NewFormParseNodeFactory(),
	} {
		if ct, err := f.GetValidContentType(); err == nil {
			parse.ContentTypeAssociatedFactories[ct] = f
		}
	}
	serialize := serialization.NewSerializationWriterFactoryRegistry()
	for _, f := range []serialization.SerializationWriterFactory{
		jsonserialization.NewJsonSerializationWriterFactory(),
		textserialization.NewTextSerializationWriterFactory(),
		formserialization.NewFormSerializationWriterFactory(),
		multipartserialization.NewMultipartSerializationWriterFactory(),
	} {
		if ct, err := f.GetValidContentType(); err == nil {
			serialize.ContentTypeAssociatedFactories[ct] = f
		}
	}
	return parse, serialize
}

// Applications is /applications.
func (a api) Applications() *applications.ApplicationsRequestBuilder {
	return applications.NewApplicationsRequestBuilderInternal(a.params(), a.adapter)
}

// AuditLogs is /auditLogs.
func (a api) AuditLogs() *auditlogs.AuditLogsRequestBuilder {
	return auditlogs.NewAuditLogsRequestBuilderInternal(a.params(), a.adapter)
}

// Devices is /devices.
func (a api) Devices() *devices.DevicesRequestBuilder {
	return devices.NewDevicesRequestBuilderInternal(a.params(), a.adapter)
}

// Domains is /domains.
func (a api) Domains() *domains.DomainsRequestBuilder {
	return domains.NewDomainsRequestBuilderInternal(a.params(), a.adapter)
}

// Oauth2PermissionGrants is /oauth2PermissionGrants.
func (a api) Oauth2PermissionGrants() *oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilder {
	return oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(a.params(), a.adapter)
}

// Policies is /policies.
func (a api) Policies() *policies.PoliciesRequestBuilder {
	return policies.NewPoliciesRequestBuilderInternal(a.params(), a.adapter)
}

// Groups is /groups.
func (a api) Groups() *groups.GroupsRequestBuilder {
	return groups.NewGroupsRequestBuilderInternal(a.params(), a.adapter)
}

// Identity is /identity.
func (a api) Identity() *identity.IdentityRequestBuilder {
	return identity.NewIdentityRequestBuilderInternal(a.params(), a.adapter)
}

// Organization is /organization.
func (a api) Organization() *organization.OrganizationRequestBuilder {
	return organization.NewOrganizationRequestBuilderInternal(a.params(), a.adapter)
}

// Reports is /reports.
func (a api) Reports() *reports.ReportsRequestBuilder {
	return reports.NewReportsRequestBuilderInternal(a.params(), a.adapter)
}

// ServicePrincipals is /servicePrincipals.
func (a api) ServicePrincipals() *serviceprincipals.ServicePrincipalsRequestBuilder {
	return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(a.params(), a.adapter)
}

// SubscribedSkus is /subscribedSkus.
func (a api) SubscribedSkus() *subscribedskus.SubscribedSkusRequestBuilder {
	return subscribedskus.NewSubscribedSkusRequestBuilderInternal(a.params(), a.adapter)
}

// Subscriptions is /subscriptions.
func (a api) Subscriptions() *subscriptions.SubscriptionsRequestBuilder {
	return subscriptions.NewSubscriptionsRequestBuilderInternal(a.params(), a.adapter)
}

// Users is /users.
func (a api) Users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(a.params(), a.adapter)
}
