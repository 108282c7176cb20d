package graph

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/identity"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ---- organization ----

const organizationFields = "id,displayName"

// Organization returns the tenant's organization object (the first one
// GET /organization lists). It fails with tenant.ErrNotFound if the list is
// empty.
func (c *Client) Organization(ctx context.Context) (tenant.Organization, error) {
	const op = "GET /organization"
	var org tenant.Organization
	xctx, x := withExchange(ctx)
	resp, err := c.sdk.Organization().Get(xctx, &organization.OrganizationRequestBuilderGetRequestConfiguration{
		QueryParameters: &organization.OrganizationRequestBuilderGetQueryParameters{Select: fields(organizationFields)},
	})
	if err != nil {
		return org, c.classify(ctx, op, tenant.SourceOrganization, x, err)
	}
	if resp != nil {
		for _, o := range resp.GetValue() {
			if o != nil {
				return organizationFromGraph(o), nil
			}
		}
	}
	p, l := needs(tenant.SourceOrganization)
	return org, &Error{Op: op, Message: "the response lists no organization", Permission: p, Licence: l,
		Err: tenant.ErrNotFound, kind: kindPlain, target: c.base}
}

func organizationFromGraph(o models.Organizationable) tenant.Organization {
	return tenant.Organization{ID: str(o.GetId()), DisplayName: str(o.GetDisplayName())}
}

// ---- subscribedSkus ----

const skuFields = "skuId,skuPartNumber,servicePlans"

// SubscribedSKUs returns the licences the tenant has bought
// (GET /subscribedSkus).
func (c *Client) SubscribedSKUs(ctx context.Context) ([]tenant.SKU, error) {
	return c.subscribedSKUs(ctx, skuFields, func(models.SubscribedSkuable) bool { return true })
}

// subscribedSKUs reads /subscribedSkus with $select sel and returns the
// SKUs keep accepts.
func (c *Client) subscribedSKUs(ctx context.Context, sel string, keep func(models.SubscribedSkuable) bool) ([]tenant.SKU, error) {
	var out []tenant.SKU
	err := stream(ctx, c, "GET /subscribedSkus", tenant.SourceSubscribedSkus,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.SubscribedSkus().Get(ctx, &subscribedskus.SubscribedSkusRequestBuilderGetRequestConfiguration{
				QueryParameters: &subscribedskus.SubscribedSkusRequestBuilderGetQueryParameters{Select: fields(sel)},
			}))
		},
		models.CreateSubscribedSkuCollectionResponseFromDiscriminatorValue,
		func(s models.SubscribedSkuable) error {
			if s != nil && keep(s) {
				out = append(out, skuFromGraph(s))
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func skuFromGraph(s models.SubscribedSkuable) tenant.SKU {
	sku := tenant.SKU{SkuID: stringer(s.GetSkuId()), SkuPartNumber: str(s.GetSkuPartNumber())}
	for _, p := range s.GetServicePlans() {
		if p != nil {
			sku.ServicePlans = append(sku.ServicePlans, tenant.ServicePlan{
				ID: stringer(p.GetServicePlanId()), Name: str(p.GetServicePlanName())})
		}
	}
	return sku
}

// ---- users ----

const (
	userFields       = "id,userPrincipalName,displayName,userType,accountEnabled,createdDateTime,assignedLicenses"
	userSignInFields = userFields + ",signInActivity"
)

// Users streams every user to fn (GET /users). With withSignInActivity it
// also selects signInActivity (Entra ID P1, AuditLog.Read.All; pages of
// 500) and fills User.LastSuccessfulSignIn and User.SignInActivityRead; a
// 403 is then reported for tenant.SourceSignInActivity.
func (c *Client) Users(ctx context.Context, withSignInActivity bool, fn func(tenant.User) error) error {
	sel, top, src := userFields, int32(topDirectory), tenant.SourceUsers
	if withSignInActivity {
		sel, top, src = userSignInFields, topSignInActivity, tenant.SourceSignInActivity
		fn = markSignInActivityRead(fn)
	}
	return readList(ctx, c, "GET /users", src,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.Users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: fields(sel), Top: &top},
			})
		},
		(*dec).user, fn)
}

// markSignInActivityRead marks each user of a read that selected
// signInActivity: a user without it (or with a null date) never signed in
// (tenant.User.SignInActivityRead).
func markSignInActivityRead(fn func(tenant.User) error) func(tenant.User) error {
	return func(u tenant.User) error {
		u.SignInActivityRead = true
		return fn(u)
	}
}

// UsersByID streams the users with the given object ids to fn
// (GET /users?$filter=id in ('…','…')&$select=…), with the $select list of
// Users (plus signInActivity with withSignInActivity). The ids are
// lower-cased and de-duplicated and go in filters of at most maxFilterIDs;
// an id that is not a GUID is skipped and logged, so that it never reaches
// a filter string. Ids of users that do not exist are not reported.
//
// As for Users, withSignInActivity reads tenant.SourceSignInActivity: a 403
// then names User.Read.All, AuditLog.Read.All and an Entra ID P1 or P2
// licence, and the caller decides whether to read again without it.
func (c *Client) UsersByID(ctx context.Context, ids []string, withSignInActivity bool, fn func(tenant.User) error) error {
	sel, src := userFields, tenant.SourceUsers
	if withSignInActivity {
		sel, src = userSignInFields, tenant.SourceSignInActivity
		fn = markSignInActivityRead(fn)
	}
	return c.inChunks(ctx, "id", ids, func(filter string) error {
		return readList(ctx, c, "GET /users", src,
			func(ctx context.Context) (*abstractions.RequestInformation, error) {
				return c.sdk.Users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
					QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: fields(sel)},
				})
			},
			(*dec).user, fn)
	})
}

// ---- userRegistrationDetails ----

const registrationFields = "id,userPrincipalName,userDisplayName,userType,isAdmin,isMfaRegistered,isMfaCapable,methodsRegistered"

// topRegistrations is the page size userRegistrationDetails is asked
// for: its v1.0 page documents no $top, but Graph takes 999 in practice.
const topRegistrations = 999

// Registrations streams every user's authentication-method registration
// state to fn (GET /reports/authenticationMethods/userRegistrationDetails;
// Entra ID P1 or P2). It asks for pages of topRegistrations: the v1.0
// page documents only $filter and $orderby, and Graph's default page for
// the report can be 100, a tenth of what $top=999 (what scripts and tools
// send) gets. When Graph answers the first page of such a read 400 and
// the same read without $top does not, the report is read at Graph's
// default page for the rest of the process, and that is logged once.
func (c *Client) Registrations(ctx context.Context, fn func(tenant.Registration) error) error {
	if _, refused := registrationTopRefused.Load(c.base); !refused {
		n := 0
		err := c.registrations(ctx, topRegistrations, func(r tenant.Registration) error { n++; return fn(r) })
		if n > 0 || !errors.Is(err, tenant.ErrBadRequest) {
			return err
		}
		// 400 before the first row. Read again without $top: unless that
		// is refused too, it was the $top.
		again := c.registrations(ctx, 0, fn)
		if !errors.Is(again, tenant.ErrBadRequest) {
			if _, logged := registrationTopRefused.LoadOrStore(c.base, true); !logged {
				c.log.LogAttrs(ctx, slog.LevelWarn, "graph: userRegistrationDetails refused $top; reading it at Graph's default page size from now on",
					slog.Int("top", topRegistrations), slog.String("answer", err.Error()))
			}
		}
		return again
	}
	return c.registrations(ctx, 0, fn)
}

// registrationTopRefused holds the Graph roots (Client.base) whose
// userRegistrationDetails refused $top: a property of the service at that
// root, so it holds for every client of it in this process.
var registrationTopRefused sync.Map

// registrations reads the report with $top=top (0: none).
func (c *Client) registrations(ctx context.Context, top int32, fn func(tenant.Registration) error) error {
	q := &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{Select: fields(registrationFields)}
	if top > 0 {
		q.Top = &top
	}
	return readList(ctx, c, "GET /reports/authenticationMethods/userRegistrationDetails", tenant.SourceRegistrations,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.Reports().AuthenticationMethods().UserRegistrationDetails().ToGetRequestInformation(ctx,
				&reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{QueryParameters: q})
		},
		(*dec).registration, fn)
}

// ---- servicePrincipals ----

const servicePrincipalFields = "id,appId,displayName,appOwnerOrganizationId,servicePrincipalType,accountEnabled,keyCredentials,passwordCredentials,replyUrls,appRoles"

// ServicePrincipals streams every service principal to fn
// (GET /servicePrincipals).
func (c *Client) ServicePrincipals(ctx context.Context, fn func(tenant.ServicePrincipal) error) error {
	top := int32(topDirectory)
	return readList(ctx, c, "GET /servicePrincipals", tenant.SourceServicePrincipals,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.ServicePrincipals().ToGetRequestInformation(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Select: fields(servicePrincipalFields), Top: &top},
			})
		},
		(*dec).servicePrincipal, fn)
}

// ServicePrincipalsByAppID streams the service principals of the given
// application ids to fn (GET /servicePrincipals?$filter=appId in (…)),
// with the $select list of ServicePrincipals; ids are handled as by
// UsersByID. Resolving the Microsoft Graph and Exchange Online resource
// service principals by their well-known app ids is what it is for.
func (c *Client) ServicePrincipalsByAppID(ctx context.Context, appIDs []string, fn func(tenant.ServicePrincipal) error) error {
	return c.inChunks(ctx, "appId", appIDs, func(filter string) error {
		return readList(ctx, c, "GET /servicePrincipals", tenant.SourceServicePrincipals,
			func(ctx context.Context) (*abstractions.RequestInformation, error) {
				return c.sdk.ServicePrincipals().ToGetRequestInformation(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
					QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Filter: &filter, Select: fields(servicePrincipalFields)},
				})
			},
			(*dec).servicePrincipal, fn)
	})
}

// ---- applications ----

const applicationFields = "id,appId,displayName,keyCredentials,passwordCredentials,web,spa,publicClient"

// Applications streams every app registration to fn (GET /applications).
func (c *Client) Applications(ctx context.Context, fn func(tenant.Application) error) error {
	top := int32(topDirectory)
	return readList(ctx, c, "GET /applications", tenant.SourceApplications,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.Applications().ToGetRequestInformation(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
				QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Select: fields(applicationFields), Top: &top},
			})
		},
		(*dec).application, fn)
}

// ---- appRoleAssignedTo ----

const appRoleAssignmentFields = "id,appRoleId,principalId,principalType,principalDisplayName,resourceId,resourceDisplayName,createdDateTime"

// AppRoleAssignedTo streams the app roles granted on the resource service
// principal resourceSPID (object id) to fn
// (GET /servicePrincipals/{id}/appRoleAssignedTo).
func (c *Client) AppRoleAssignedTo(ctx context.Context, resourceSPID string, fn func(tenant.AppRoleAssignment) error) error {
	op := "GET /servicePrincipals/" + resourceSPID + "/appRoleAssignedTo"
	if strings.TrimSpace(resourceSPID) == "" {
		return &Error{Op: op, Message: "empty resource service principal id", Err: tenant.ErrBadRequest,
			kind: kindPlain, target: c.base}
	}
	top := int32(topDirectory)
	return readList(ctx, c, op, tenant.SourceResourceGrants,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.ServicePrincipals().ByServicePrincipalId(resourceSPID).AppRoleAssignedTo().ToGetRequestInformation(ctx,
				&serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetRequestConfiguration{
					QueryParameters: &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetQueryParameters{
						Select: fields(appRoleAssignmentFields), Top: &top},
				})
		},
		(*dec).appRoleAssignment, fn)
}

// ---- conditional access ----

const caPolicyFields = "id,displayName,state,conditions,grantControls"

// CAPolicies returns the Conditional Access policies
// (GET /identity/conditionalAccess/policies).
func (c *Client) CAPolicies(ctx context.Context) ([]tenant.CAPolicy, error) {
	var out []tenant.CAPolicy
	err := stream(ctx, c, "GET /identity/conditionalAccess/policies", tenant.SourceCAPolicies,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Identity().ConditionalAccess().Policies().Get(ctx,
				&identity.ConditionalAccessPoliciesRequestBuilderGetRequestConfiguration{
					QueryParameters: &identity.ConditionalAccessPoliciesRequestBuilderGetQueryParameters{Select: fields(caPolicyFields)},
				}))
		},
		models.CreateConditionalAccessPolicyCollectionResponseFromDiscriminatorValue,
		func(p models.ConditionalAccessPolicyable) error {
			if p != nil {
				out = append(out, caPolicyFromGraph(p))
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func caPolicyFromGraph(p models.ConditionalAccessPolicyable) tenant.CAPolicy {
	out := tenant.CAPolicy{ID: str(p.GetId()), DisplayName: str(p.GetDisplayName()), State: stringer(p.GetState())}
	if cond := p.GetConditions(); cond != nil {
		if apps := cond.GetApplications(); apps != nil {
			out.IncludeUserActions = apps.GetIncludeUserActions()
			out.IncludeApplications = apps.GetIncludeApplications()
		}
		if u := cond.GetUsers(); u != nil {
			out.IncludeUsers, out.ExcludeUsers = u.GetIncludeUsers(), u.GetExcludeUsers()
			out.IncludeGroups, out.ExcludeGroups = u.GetIncludeGroups(), u.GetExcludeGroups()
			out.IncludeRoles, out.ExcludeRoles = u.GetIncludeRoles(), u.GetExcludeRoles()
		}
		if f := cond.GetAuthenticationFlows(); f != nil {
			out.TransferMethods = stringer(f.GetTransferMethods())
		}
	}
	if g := p.GetGrantControls(); g != nil {
		out.GrantOperator = str(g.GetOperator())
		for _, c := range g.GetBuiltInControls() {
			out.BuiltInControls = append(out.BuiltInControls, c.String())
		}
		if s := g.GetAuthenticationStrength(); s != nil {
			out.AuthStrengthID = str(s.GetId())
		}
	}
	return out
}

// NamedLocations returns the Conditional Access named locations
// (GET /identity/conditionalAccess/namedLocations). No $select: ipRanges
// and isTrusted live on the derived type #microsoft.graph.ipNamedLocation.
func (c *Client) NamedLocations(ctx context.Context) ([]tenant.NamedLocation, error) {
	var out []tenant.NamedLocation
	err := stream(ctx, c, "GET /identity/conditionalAccess/namedLocations", tenant.SourceNamedLocations,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Identity().ConditionalAccess().NamedLocations().Get(ctx, nil))
		},
		models.CreateNamedLocationCollectionResponseFromDiscriminatorValue,
		func(l models.NamedLocationable) error {
			if l != nil {
				out = append(out, namedLocationFromGraph(l))
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func namedLocationFromGraph(l models.NamedLocationable) tenant.NamedLocation {
	out := tenant.NamedLocation{ID: str(l.GetId()), DisplayName: str(l.GetDisplayName())}
	switch v := l.(type) {
	case models.IpNamedLocationable:
		out.Kind = "ip"
		out.Trusted = deref(v.GetIsTrusted())
		for _, r := range v.GetIpRanges() {
			// IPv4CidrRangeable and IPv6CidrRangeable have the same
			// method set: one case holds both.
			if rr, ok := r.(interface{ GetCidrAddress() *string }); ok {
				out.CIDRs = append(out.CIDRs, str(rr.GetCidrAddress()))
			}
		}
	case models.CountryNamedLocationable:
		out.Kind = "country"
	default:
		// A type this SDK does not know: keep its name so that no rule
		// mistakes it for an IP or country location.
		out.Kind = strings.TrimPrefix(str(l.GetOdataType()), "#microsoft.graph.")
	}
	return out
}
