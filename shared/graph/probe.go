package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/devices"
	"github.com/microsoftgraph/msgraph-sdk-go/domains"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/identity"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Probe makes the smallest read of src — the first page of at most one
// item, with only its id selected — and returns how it failed, classified
// as every read is (a 403 is an *Error wrapping tenant.ErrAccessDenied,
// naming the permission and licence), or nil when Graph answered. It
// writes nothing. tenant.SourceResourceGrants has no probe of its own (it
// needs Application.Read.All, probed by tenant.SourceServicePrincipals).
func (c *Client) Probe(ctx context.Context, src tenant.Source) error {
	op, get := c.probe(src)
	if get == nil {
		return fmt.Errorf("graph: no probe for source %q", src)
	}
	xctx, x := withExchange(ctx)
	_, err := get(xctx)
	return c.classify(ctx, op, src, x, err)
}

func (c *Client) probe(src tenant.Source) (string, func(context.Context) (serialization.Parsable, error)) {
	top, id := int32(1), []string{"id"}
	switch src {
	case tenant.SourceOrganization:
		return "GET /organization", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Organization().Get(ctx, &organization.OrganizationRequestBuilderGetRequestConfiguration{
				QueryParameters: &organization.OrganizationRequestBuilderGetQueryParameters{Select: id}}))
		}
	case tenant.SourceSubscribedSkus:
		return "GET /subscribedSkus", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.SubscribedSkus().Get(ctx, &subscribedskus.SubscribedSkusRequestBuilderGetRequestConfiguration{
				QueryParameters: &subscribedskus.SubscribedSkusRequestBuilderGetQueryParameters{Select: []string{"skuId"}}}))
		}
	case tenant.SourceUsers, tenant.SourceSignInActivity:
		sel := id
		if src == tenant.SourceSignInActivity {
			sel = []string{"id", "signInActivity"}
		}
		return "GET /users", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: sel, Top: &top}}))
		}
	case tenant.SourceGroups:
		return "GET /groups", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
				QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Select: id, Top: &top}}))
		}
	case tenant.SourceRegistrations:
		// userRegistrationDetails documents no $top.
		return "GET /reports/authenticationMethods/userRegistrationDetails", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Reports().AuthenticationMethods().UserRegistrationDetails().Get(ctx,
				&reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{
					QueryParameters: &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{Select: id}}))
		}
	case tenant.SourceServicePrincipals:
		return "GET /servicePrincipals", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.ServicePrincipals().Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Select: id, Top: &top}}))
		}
	case tenant.SourceApplications:
		return "GET /applications", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Applications().Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
				QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Select: id, Top: &top}}))
		}
	case tenant.SourceDirectoryAudits:
		return "GET /auditLogs/directoryAudits", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.AuditLogs().DirectoryAudits().Get(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{Top: &top}}))
		}
	case tenant.SourceSignIns:
		return "GET /auditLogs/signIns", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.AuditLogs().SignIns().Get(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Top: &top}}))
		}
	case tenant.SourceCAPolicies:
		return "GET /identity/conditionalAccess/policies", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Identity().ConditionalAccess().Policies().Get(ctx,
				&identity.ConditionalAccessPoliciesRequestBuilderGetRequestConfiguration{
					QueryParameters: &identity.ConditionalAccessPoliciesRequestBuilderGetQueryParameters{Select: id}}))
		}
	case tenant.SourceNamedLocations:
		return "GET /identity/conditionalAccess/namedLocations", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Identity().ConditionalAccess().NamedLocations().Get(ctx,
				&identity.ConditionalAccessNamedLocationsRequestBuilderGetRequestConfiguration{
					QueryParameters: &identity.ConditionalAccessNamedLocationsRequestBuilderGetQueryParameters{Select: id, Top: &top}}))
		}
	case tenant.SourceSignInsBeta:
		return "GET /beta/auditLogs/signIns", func(ctx context.Context) (serialization.Parsable, error) {
			if c.noBeta {
				return nil, &Error{Op: "GET /beta/auditLogs/signIns", Message: tenant.BetaDisabledReason,
					Err: tenant.ErrBetaDisabled, kind: kindPlain, target: c.base}
			}
			ri, err := c.betaRequest("/auditLogs/signIns", []string{"$top=1"})
			if err != nil {
				return nil, err
			}
			_, err = c.adapter.SendPrimitive(ctx, ri, "[]byte", odataErrorMapping)
			return nil, err
		}
	case tenant.SourceDevices:
		return "GET /devices", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Devices().Get(ctx, &devices.DevicesRequestBuilderGetRequestConfiguration{
				QueryParameters: &devices.DevicesRequestBuilderGetQueryParameters{Select: id, Top: &top}}))
		}
	case tenant.SourceDomains:
		// List domains documents no $top; tenants have few.
		return "GET /domains", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Domains().Get(ctx, &domains.DomainsRequestBuilderGetRequestConfiguration{
				QueryParameters: &domains.DomainsRequestBuilderGetQueryParameters{Select: id}}))
		}
	case tenant.SourceCAGroupMembers:
		// The members of a group need a group id; listing groups takes
		// GroupMember.Read.All (or the Group.Read.All the app also holds
		// for its groups subscription, which reads members too).
		return "GET /groups", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
				QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Select: id, Top: &top}}))
		}
	case tenant.SourceDelegatedGrants:
		// List oauth2PermissionGrants documents no $top.
		return "GET /oauth2PermissionGrants", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Oauth2PermissionGrants().Get(ctx, nil))
		}
	case tenant.SourceAuthorizationPolicy:
		return "GET /policies/authorizationPolicy", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Policies().AuthorizationPolicy().Get(ctx, &policies.AuthorizationPolicyRequestBuilderGetRequestConfiguration{
				QueryParameters: &policies.AuthorizationPolicyRequestBuilderGetQueryParameters{Select: id}}))
		}
	case tenant.SourceFederatedCredentials:
		// Per application; Application.Read.All, as the application list.
		return "GET /applications", func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Applications().Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
				QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Select: id, Top: &top}}))
		}
	}
	return "", nil
}

// nonPremiumCode is Graph's 403 code for data that needs Entra ID P1 or P2.
const nonPremiumCode = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"

// LicenceMissing reports whether err is Graph's answer for data the
// tenant's licences do not include (no Entra ID P1 or P2), as opposed to a
// missing permission.
func LicenceMissing(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusForbidden && strings.EqualFold(e.Code, nonPremiumCode)
}

// activeSKUFields is the $select of ActiveSKUs.
const activeSKUFields = "skuId,skuPartNumber,capabilityStatus,prepaidUnits,servicePlans"

// ActiveSKUs returns the subscribed SKUs in force (GET /subscribedSkus,
// Organization.Read.All): capabilityStatus Enabled, or Warning (expired,
// in its grace period, still working), with at least one enabled or
// warning prepaid unit. Suspended, deleted and locked-out SKUs are left
// out: their plans no longer apply. Errors are classified as every read's.
func (c *Client) ActiveSKUs(ctx context.Context) ([]tenant.SKU, error) {
	return c.subscribedSKUs(ctx, activeSKUFields, func(s models.SubscribedSkuable) bool {
		return skuInForce(str(s.GetCapabilityStatus()), s.GetPrepaidUnits())
	})
}

// skuInForce reports whether a SKU's licences apply (see ActiveSKUs).
func skuInForce(status string, units models.LicenseUnitsDetailable) bool {
	if !strings.EqualFold(status, "Enabled") && !strings.EqualFold(status, "Warning") {
		return false
	}
	return units != nil && deref(units.GetEnabled())+deref(units.GetWarning()) > 0
}
