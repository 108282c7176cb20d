package graph

import (
	"context"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ---- directoryAudits ----

const auditFields = "id,activityDateTime,activityDisplayName,category,loggedByService,operationType,result,resultReason,correlationId,initiatedBy,targetResources,additionalDetails"

// DirectoryAudits streams the directory audit events since since to fn
// (GET /auditLogs/directoryAudits?$filter=activityDateTime ge …). A zero
// since reads the whole retention (7 days Free, 30 days P1/P2).
func (c *Client) DirectoryAudits(ctx context.Context, since time.Time, fn func(tenant.AuditEvent) error) error {
	top := int32(topAudits)
	return readList(ctx, c, "GET /auditLogs/directoryAudits", tenant.SourceDirectoryAudits,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.AuditLogs().DirectoryAudits().ToGetRequestInformation(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{
					Filter: gmtFilter("activityDateTime", since), Select: fields(auditFields), Top: &top},
			})
		},
		(*dec).audit, fn)
}

// ---- signIns ----

const signInFields = "id,createdDateTime,userId,userPrincipalName,appId,appDisplayName,ipAddress,status," +
	"clientAppUsed,resourceId,resourceDisplayName,location,deviceDetail,isInteractive"

// SignIns streams the interactive user sign-ins since since to fn
// (GET /auditLogs/signIns?$filter=createdDateTime ge …; Entra ID P1 or P2).
// A zero since reads the whole retention.
func (c *Client) SignIns(ctx context.Context, since time.Time, fn func(tenant.SignIn) error) error {
	top := int32(topSignIns)
	return readList(ctx, c, "GET /auditLogs/signIns", tenant.SourceSignIns,
		func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return c.sdk.AuditLogs().SignIns().ToGetRequestInformation(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{
					Filter: gmtFilter("createdDateTime", since), Select: fields(signInFields), Top: &top},
			})
		},
		(*dec).signIn, fn)
}
