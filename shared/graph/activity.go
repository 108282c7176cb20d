package graph

import (
	"context"
	"strings"
	"time"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ---- directoryAudits ----

const auditFields = "id,activityDateTime,activityDisplayName,category,loggedByService,operationType,result,resultReason,correlationId,initiatedBy,targetResources,additionalDetails"

// DirectoryAudits streams the directory audit events since since to fn
// (GET /auditLogs/directoryAudits?$filter=activityDateTime ge …). A zero
// since reads the whole retention (7 days Free, 30 days P1/P2).
func (c *Client) DirectoryAudits(ctx context.Context, since time.Time, fn func(tenant.AuditEvent) error) error {
	top := int32(topAudits)
	return stream(ctx, c, "GET /auditLogs/directoryAudits", tenant.SourceDirectoryAudits,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.AuditLogs().DirectoryAudits().Get(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{
					Filter: gmtFilter("activityDateTime", since), Select: fields(auditFields), Top: &top},
			}))
		},
		models.CreateDirectoryAuditCollectionResponseFromDiscriminatorValue,
		func(a models.DirectoryAuditable) error {
			if a == nil {
				return nil
			}
			return fn(auditFromGraph(a))
		})
}

func auditFromGraph(a models.DirectoryAuditable) tenant.AuditEvent {
	out := tenant.AuditEvent{
		ID:              str(a.GetId()),
		Time:            toTime(a.GetActivityDateTime()),
		Activity:        str(a.GetActivityDisplayName()),
		Category:        str(a.GetCategory()),
		LoggedByService: str(a.GetLoggedByService()),
		OperationType:   str(a.GetOperationType()),
		Result:          stringer(a.GetResult()),
		ResultReason:    str(a.GetResultReason()),
		CorrelationID:   str(a.GetCorrelationId()),
	}
	if by := a.GetInitiatedBy(); by != nil {
		if u := by.GetUser(); u != nil {
			out.Initiator.UserID = str(u.GetId())
			out.Initiator.UPN = str(u.GetUserPrincipalName())
			out.Initiator.IP = str(u.GetIpAddress())
			out.Initiator.DisplayName = str(u.GetDisplayName())
		}
		if app := by.GetApp(); app != nil {
			out.Initiator.AppID = str(app.GetAppId())
			out.Initiator.SPID = str(app.GetServicePrincipalId())
			if out.Initiator.DisplayName == "" {
				out.Initiator.DisplayName = str(app.GetDisplayName())
			}
		}
	}
	for _, t := range a.GetTargetResources() {
		if t == nil {
			continue
		}
		target := tenant.Target{
			ID:          str(t.GetId()),
			DisplayName: str(t.GetDisplayName()),
			Type:        targetType(t),
			UPN:         str(t.GetUserPrincipalName()),
		}
		for _, m := range t.GetModifiedProperties() {
			if m == nil {
				continue
			}
			target.Modified = append(target.Modified, tenant.ModifiedProperty{
				Name: str(m.GetDisplayName()), Old: str(m.GetOldValue()), New: str(m.GetNewValue())})
		}
		out.Targets = append(out.Targets, target)
	}
	for _, d := range a.GetAdditionalDetails() {
		if d != nil {
			out.Details = append(out.Details, tenant.KeyValue{Key: str(d.GetKey()), Value: str(d.GetValue())})
		}
	}
	return out
}

// targetType reads targetResources[].type. The SDK matches JSON names
// case-sensitively, so a "Type" (as in Graph's own samples) lands in the
// additional data instead.
func targetType(t models.TargetResourceable) string {
	if v := t.GetTypeEscaped(); v != nil {
		return *v
	}
	for k, v := range t.GetAdditionalData() {
		if !strings.EqualFold(k, "type") {
			continue
		}
		switch s := v.(type) {
		case *string:
			if s != nil {
				return *s
			}
		case string:
			return s
		}
	}
	return ""
}

// ---- signIns ----

const signInFields = "id,createdDateTime,userId,userPrincipalName,appId,appDisplayName,ipAddress,status"

// SignIns streams the interactive user sign-ins since since to fn
// (GET /auditLogs/signIns?$filter=createdDateTime ge …; Entra ID P1 or P2).
// A zero since reads the whole retention.
func (c *Client) SignIns(ctx context.Context, since time.Time, fn func(tenant.SignIn) error) error {
	top := int32(topSignIns)
	return stream(ctx, c, "GET /auditLogs/signIns", tenant.SourceSignIns,
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.AuditLogs().SignIns().Get(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{
					Filter: gmtFilter("createdDateTime", since), Select: fields(signInFields), Top: &top},
			}))
		},
		models.CreateSignInCollectionResponseFromDiscriminatorValue,
		func(s models.SignInable) error {
			if s == nil {
				return nil
			}
			return fn(signInFromGraph(s))
		})
}

func signInFromGraph(s models.SignInable) tenant.SignIn {
	out := tenant.SignIn{
		ID:             str(s.GetId()),
		Time:           toTime(s.GetCreatedDateTime()),
		UserID:         str(s.GetUserId()),
		UPN:            str(s.GetUserPrincipalName()),
		AppID:          str(s.GetAppId()),
		AppDisplayName: str(s.GetAppDisplayName()),
		IP:             str(s.GetIpAddress()),
	}
	// No status.errorCode (never seen with $select=status) must not read
	// as 0, "success": mark it unknown.
	out.ErrorCode = -1
	if st := s.GetStatus(); st != nil && st.GetErrorCode() != nil {
		out.ErrorCode = int(*st.GetErrorCode())
	}
	return out
}
