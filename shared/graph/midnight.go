package graph

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/devices"
	"github.com/microsoftgraph/msgraph-sdk-go/domains"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The reads of the 2023–2025 rules (issue 12): beta sign-ins, devices,
// domains and their federation, the authorization policy, delegated
// grants, the transitive members of Conditional Access groups and the
// federated identity credentials of applications. Bulk reads (sign-ins,
// devices, grants, members) decode their pages in decode.go; the small
// ones go through the SDK's models, as CAPolicies does.

// ---- beta signIns ----

// signInBetaFields adds the two properties only beta has.
const signInBetaFields = signInFields + ",authenticationProtocol,originalTransferMethod"

// SignInsBeta streams the interactive user sign-ins since since to fn from
// Graph's beta endpoint (GET /beta/auditLogs/signIns?$filter=createdDateTime
// ge …; AuditLog.Read.All, Entra ID P1 or P2), with authenticationProtocol
// and originalTransferMethod, which v1.0 lacks. The request is a raw one
// (msgraph-sdk-go has no beta models) sent through the client's adapter,
// middleware and bounds as every read; its pages are decoded like v1.0's.
// With ClientOptions.DisableBeta it sends nothing and returns an *Error
// wrapping tenant.ErrBetaDisabled. A 403 is reported for
// tenant.SourceSignInsBeta.
func (c *Client) SignInsBeta(ctx context.Context, since time.Time, fn func(tenant.SignIn) error) error {
	const op = "GET /beta/auditLogs/signIns"
	if c.noBeta {
		return &Error{Op: op, Message: tenant.BetaDisabledReason, Err: tenant.ErrBetaDisabled, kind: kindPlain, target: c.base}
	}
	q := []string{"$select=" + queryEscape(signInBetaFields), "$top=" + strconv.Itoa(topSignIns)}
	if f := gmtFilter("createdDateTime", since); f != nil {
		q = append([]string{"$filter=" + queryEscape(*f)}, q...)
	}
	return readList(ctx, c, op, tenant.SourceSignInsBeta,
		func(context.Context) (*abstractions.RequestInformation, error) {
			return c.betaRequest("/auditLogs/signIns", q)
		},
		(*dec).signIn, fn)
}

// Beta reports whether the client reads Graph's beta endpoint (not
// ClientOptions.DisableBeta).
func (c *Client) Beta() bool { return !c.noBeta }

// betaRequest builds a GET of path (from the version segment on) under
// Graph's beta root, with the given query (already escaped). The adapter
// sends a request with its URL set as it is: its base URL (v1.0) applies
// only to the SDK's URL templates.
func (c *Client) betaRequest(path string, query []string) (*abstractions.RequestInformation, error) {
	raw := strings.TrimSuffix(c.base, "/v1.0") + "/beta" + path
	if len(query) > 0 {
		raw += "?" + strings.Join(query, "&")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	ri := abstractions.NewRequestInformation()
	ri.Method = abstractions.GET
	ri.SetUri(*u)
	ri.Headers.TryAdd("Accept", "application/json")
	return ri, nil
}

// queryEscape escapes a query value as the SDK's URL templates do: spaces
// as %20, not +.
func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// ---- devices ----

const deviceFields = "id,deviceId,displayName,operatingSystem,operatingSystemVersion,trustType,isManaged,isCompliant,accountEnabled,registrationDateTime,approximateLastSignInDateTime"

// DeviceRegisteredOwners is the $expand of Devices: the registered
// owners' ids only.
const deviceRegisteredOwners = "registeredOwners($select=id)"

// Devices streams every device with its registered owners' ids to fn
// (GET /devices?$select=…&$expand=registeredOwners($select=id)&$top=999;
// Device.Read.All). device-list.md documents $expand, and the device
// resource marks registeredOwners "Supports $expand".
func (c *Client) Devices(ctx context.Context, fn func(tenant.Device) error) error {
	top := int32(topDirectory)
	return readList(ctx, c, "GET /devices", tenant.SourceDevices,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.Devices().ToGetRequestInformation(ctx, &devices.DevicesRequestBuilderGetRequestConfiguration{
				QueryParameters: &devices.DevicesRequestBuilderGetQueryParameters{
					Select: fields(deviceFields), Expand: []string{deviceRegisteredOwners}, Top: &top},
			})
		},
		(*dec).device, fn)
}

// ---- domains ----

const domainFields = "id,authenticationType,isVerified,isDefault"

// Domains returns the tenant's domains (GET /domains; Domain.Read.All)
// and, for each federated one, its federation configuration (GET
// /domains/{id}/federationConfiguration; Domain.Read.All): one request
// more per federated domain, which tenants have few of.
func (c *Client) Domains(ctx context.Context) ([]tenant.Domain, error) {
	var out []tenant.Domain
	err := stream(ctx, c, "GET /domains", tenant.SourceDomains,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Domains().Get(ctx, &domains.DomainsRequestBuilderGetRequestConfiguration{
				QueryParameters: &domains.DomainsRequestBuilderGetQueryParameters{Select: fields(domainFields)},
			}))
		},
		models.CreateDomainCollectionResponseFromDiscriminatorValue,
		func(d models.Domainable) error {
			if d != nil {
				out = append(out, tenant.Domain{ID: str(d.GetId()), AuthenticationType: str(d.GetAuthenticationType()),
					IsVerified: deref(d.GetIsVerified()), IsDefault: deref(d.GetIsDefault())})
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if !strings.EqualFold(out[i].AuthenticationType, "Federated") || strings.TrimSpace(out[i].ID) == "" {
			continue
		}
		fed, err := c.FederationConfiguration(ctx, out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].Federation = fed
	}
	return out, nil
}

// FederationConfiguration returns the federation configuration of the
// domain called domainID (GET /domains/{id}/federationConfiguration;
// Domain.Read.All, domain-list-federationconfiguration.md).
func (c *Client) FederationConfiguration(ctx context.Context, domainID string) ([]tenant.FederationConfig, error) {
	var out []tenant.FederationConfig
	err := stream(ctx, c, "GET /domains/{id}/federationConfiguration", tenant.SourceDomains,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Domains().ByDomainId(domainID).FederationConfiguration().Get(ctx, nil))
		},
		models.CreateInternalDomainFederationCollectionResponseFromDiscriminatorValue,
		func(f models.InternalDomainFederationable) error {
			if f != nil {
				out = append(out, federationFromGraph(f))
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func federationFromGraph(f models.InternalDomainFederationable) tenant.FederationConfig {
	return tenant.FederationConfig{
		ID:                              str(f.GetId()),
		DisplayName:                     str(f.GetDisplayName()),
		IssuerURI:                       str(f.GetIssuerUri()),
		PassiveSignInURI:                str(f.GetPassiveSignInUri()),
		ActiveSignInURI:                 str(f.GetActiveSignInUri()),
		MetadataExchangeURI:             str(f.GetMetadataExchangeUri()),
		SignOutURI:                      str(f.GetSignOutUri()),
		SigningCertificate:              str(f.GetSigningCertificate()),
		NextSigningCertificate:          str(f.GetNextSigningCertificate()),
		PreferredAuthenticationProtocol: stringer(f.GetPreferredAuthenticationProtocol()),
		FederatedIdpMfaBehavior:         stringer(f.GetFederatedIdpMfaBehavior()),
	}
}

// ---- authorizationPolicy ----

// AuthorizationPolicy returns the tenant's authorization policy (GET
// /policies/authorizationPolicy; Policy.Read.All), reduced to what the
// posture rules read.
func (c *Client) AuthorizationPolicy(ctx context.Context) (*tenant.AuthorizationPolicy, error) {
	const op = "GET /policies/authorizationPolicy"
	xctx, x := withExchange(ctx)
	p, err := c.sdk.Policies().AuthorizationPolicy().Get(xctx, &policies.AuthorizationPolicyRequestBuilderGetRequestConfiguration{
		QueryParameters: &policies.AuthorizationPolicyRequestBuilderGetQueryParameters{Select: []string{"id", "defaultUserRolePermissions"}},
	})
	if err != nil {
		return nil, c.classify(ctx, op, tenant.SourceAuthorizationPolicy, x, err)
	}
	if p == nil {
		return nil, &Error{Op: op, Message: "empty response", kind: kindDecode, target: c.base}
	}
	out := &tenant.AuthorizationPolicy{}
	if d := p.GetDefaultUserRolePermissions(); d != nil {
		out.PermissionGrantPoliciesAssigned = d.GetPermissionGrantPoliciesAssigned()
		out.AllowedToCreateApps = deref(d.GetAllowedToCreateApps())
	}
	return out, nil
}

// ---- oauth2PermissionGrants ----

// DelegatedGrants streams every delegated permission grant to fn (GET
// /oauth2PermissionGrants; Directory.Read.All, the least privileged read
// permission oauth2permissiongrant-list.md names). No query options: the
// page documents only $filter; Graph pages the collection itself.
func (c *Client) DelegatedGrants(ctx context.Context, fn func(tenant.DelegatedGrant) error) error {
	return readList(ctx, c, "GET /oauth2PermissionGrants", tenant.SourceDelegatedGrants,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.Oauth2PermissionGrants().ToGetRequestInformation(ctx, nil)
		},
		(*dec).delegatedGrant, fn)
}

// ---- transitive group members ----

// GroupUserMembers streams the object ids of the users who are members of
// group groupID, directly or through nested groups, to fn (GET
// /groups/{id}/transitiveMembers/microsoft.graph.user?$select=id&$top=999;
// GroupMember.Read.All). A 403 is reported for
// tenant.SourceCAGroupMembers.
func (c *Client) GroupUserMembers(ctx context.Context, groupID string, fn func(string) error) error {
	const op = "GET /groups/{id}/transitiveMembers/microsoft.graph.user"
	if strings.TrimSpace(groupID) == "" {
		return &Error{Op: op, Message: "empty group id", Err: tenant.ErrBadRequest, kind: kindPlain, target: c.base}
	}
	top := int32(topDirectory)
	return readList(ctx, c, op, tenant.SourceCAGroupMembers,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			ri, err := c.sdk.Groups().ByGroupId(groupID).TransitiveMembers().GraphUser().ToGetRequestInformation(ctx,
				&groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{
					QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{
						Select: []string{"id"}, Top: &top},
				})
			if err != nil {
				return nil, err
			}
			// The SDK's template casts with the namespace alias
			// (…/graph.user); send the cast as group-list-transitivemembers.md
			// documents it (…/microsoft.graph.user), which graphsim serves.
			u, err := ri.GetUri()
			if err != nil {
				return nil, err
			}
			if p, ok := strings.CutSuffix(u.Path, "/transitiveMembers/graph.user"); ok {
				u.Path = p + "/transitiveMembers/microsoft.graph.user"
				u.RawPath = ""
				ri.SetUri(*u)
			}
			return ri, nil
		},
		(*dec).memberID, fn)
}

// ---- federatedIdentityCredentials ----

const federatedCredentialFields = "id,name,issuer,subject,audiences,description"

// FederatedCredentials returns the federated identity credentials of the
// application with object id appObjectID (GET
// /applications/{id}/federatedIdentityCredentials; Application.Read.All).
func (c *Client) FederatedCredentials(ctx context.Context, appObjectID string) ([]tenant.FederatedCredential, error) {
	const op = "GET /applications/{id}/federatedIdentityCredentials"
	if strings.TrimSpace(appObjectID) == "" {
		return nil, &Error{Op: op, Message: "empty application id", Err: tenant.ErrBadRequest, kind: kindPlain, target: c.base}
	}
	var out []tenant.FederatedCredential
	err := stream(ctx, c, op, tenant.SourceFederatedCredentials,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Applications().ByApplicationId(appObjectID).FederatedIdentityCredentials().Get(ctx,
				&applications.ItemFederatedIdentityCredentialsRequestBuilderGetRequestConfiguration{
					QueryParameters: &applications.ItemFederatedIdentityCredentialsRequestBuilderGetQueryParameters{
						Select: fields(federatedCredentialFields)},
				}))
		},
		models.CreateFederatedIdentityCredentialCollectionResponseFromDiscriminatorValue,
		func(f models.FederatedIdentityCredentialable) error {
			if f != nil {
				out = append(out, tenant.FederatedCredential{ID: str(f.GetId()), Name: str(f.GetName()),
					Issuer: str(f.GetIssuer()), Subject: str(f.GetSubject()), Audiences: f.GetAudiences(),
					Description: str(f.GetDescription())})
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}
