package graph

import (
	"context"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Reads of signInActivity alone. Graph's identity and access reports
// service serves signInActivity, at 10 requests per minute per app and
// tenant (and 5 per 10 seconds with the logs and reports), and pages of at
// most 500 users when it is selected: reading it with every user costs a
// 100,000-user tenant 200 such requests, 20 minutes at that limit. These
// reads select id and signInActivity only, so that /users itself can be
// read at 999 a page without it (Users with withSignInActivity false), and
// signInActivity for the few users the rules need.

const signInActivityFields = "id,signInActivity"

// SignInActivityPageSize and SignInActivityIDsPerRequest are what one
// request of SignInActivity and SignInActivityByID covers: Graph's maximum
// page when signInActivity is selected, and the ids one `in` filter takes.
const (
	SignInActivityPageSize      = topSignInActivity
	SignInActivityIDsPerRequest = maxFilterIDs
)

// SignInActivity streams every user's last successful sign-in to fn
// (GET /users?$select=id,signInActivity&$top=500; User.Read.All,
// AuditLog.Read.All, Entra ID P1 or P2). A user who never signed in (no
// signInActivity, or null dates) comes with the zero time. A 403 is
// reported for tenant.SourceSignInActivity.
func (c *Client) SignInActivity(ctx context.Context, fn func(tenant.SignInActivity) error) error {
	top := int32(topSignInActivity)
	return readList(ctx, c, "GET /users", tenant.SourceSignInActivity,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.Users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: fields(signInActivityFields), Top: &top},
			})
		},
		(*dec).signInActivity, fn)
}

// SignInActivityByID streams the last successful sign-in of the users with
// the given object ids to fn (GET /users?$filter=id in (…)&
// $select=id,signInActivity), SignInActivityIDsPerRequest ids a request.
// Ids are handled as by UsersByID: lower-cased, de-duplicated, non-GUIDs
// skipped and logged; users that do not exist are not reported.
func (c *Client) SignInActivityByID(ctx context.Context, ids []string, fn func(tenant.SignInActivity) error) error {
	return c.inChunks(ctx, "id", ids, func(filter string) error {
		return readList(ctx, c, "GET /users", tenant.SourceSignInActivity,
			func(ctx context.Context) (*abstractions.RequestInformation, error) {
				return c.sdk.Users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
					QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: fields(signInActivityFields)},
				})
			},
			(*dec).signInActivity, fn)
	})
}
