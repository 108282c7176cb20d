package doctor

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// checkFeedSubscription names the Management Activity API subscription
// line; the permission line is named after the permission.
const checkFeedSubscription = activityfeed.ContentTypeExchange + " subscription"

// feed checks the Management Activity API with one read, GET
// /subscriptions/list: the permission (ActivityFeed.Read on the Office 365
// Management APIs) and the Audit.Exchange subscription the Exchange audit
// rules read. It reports and never starts anything.
func (d *Doctor) feed(ctx context.Context) (perm, sub Check) {
	name := "ActivityFeed.Read"
	if p := permission.Required(permission.OfficeManagement); len(p) == 1 {
		name = p[0]
	}
	perm, sub = Check{Name: name}, Check{Name: checkFeedSubscription}
	rules := strings.Join(d.rulesNeeding([]tenant.Source{tenant.SourceExchangeAudit}), ", ")
	needed := "the Exchange audit rules"
	if rules != "" {
		needed = "rules " + rules
	}
	if d.o.Feed == nil {
		perm.Status, perm.Detail = StatusSkip, "the Management Activity API is not checked here (tenantwatch doctor --activity-url checks it)"
		sub.Status, sub.Detail = StatusSkip, perm.Detail
		return perm, sub
	}
	subs, err := d.o.Feed.Subscriptions(ctx)
	d.o.Logger.Debug("doctor: activity feed", "err", err)
	const read = "GET /subscriptions/list"
	switch {
	case err == nil:
		perm.Status, perm.Detail = StatusOK, "the Management Activity API answered "+read
	case errors.Is(err, tenant.ErrAuditingDisabled):
		perm.Status, perm.Detail = StatusSkip, "cannot tell: the API answered that the tenant's unified audit log is off (see the subscription line)"
		sub.Status = StatusFail
		sub.Detail = "the tenant's unified audit log is off: " + oneLine(err.Error())
		sub.Fix = "turn auditing on (Microsoft Purview portal › Audit, or Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true); until then " + needed + " see nothing, and exo.org-audit-disabled reports it"
		return perm, sub
	case errors.Is(err, tenant.ErrAccessDenied):
		perm.Status = StatusFail
		perm.Detail = "not granted: " + read + " answered " + oneLine(err.Error())
		perm.Fix = "grant " + name + " of the " + permission.OfficeManagement.Name + " (application) with admin consent (infra/modules/graph-permissions.bicep grants it); needed by " + needed
		sub.Status, sub.Detail = StatusSkip, "cannot list subscriptions (see "+name+")"
		return perm, sub
	default:
		perm.Status = StatusFail
		perm.Detail = "the Management Activity API could not be asked: " + oneLine(err.Error())
		perm.Fix = "check --activity-url, --tenant-id, the network and the credential, then rerun"
		sub.Status, sub.Detail = StatusSkip, "cannot list subscriptions (see "+name+")"
		return perm, sub
	}
	for _, s := range subs {
		if !strings.EqualFold(s.ContentType, activityfeed.ContentTypeExchange) {
			continue
		}
		if !s.Enabled() {
			sub.Status = StatusFail
			sub.Detail = "listed with status " + oneLine(s.Status) + ": no content can be listed"
			sub.Fix = "start it again: tenantwatch scan --start-subscriptions (a one-time write)"
			return perm, sub
		}
		sub.Status, sub.Detail = StatusOK, "enabled; webhook: "+webhookText(s.Webhook)
		if want := d.o.ActivityNotificationURL; want != "" && !webhookAt(s.Webhook, want) {
			sub.Status = StatusFail
			sub.Detail = "enabled, but the app's webhook is not registered: " + webhookText(s.Webhook) + " (want enabled at " + hostPath(want) + ")"
			sub.Fix = "PollActivity registers it again on its next run (RenewSubscriptions too); until then content is polled, minutes later"
		}
		return perm, sub
	}
	sub.Status = StatusFail
	sub.Detail = "not started: the Management Activity API lists no " + activityfeed.ContentTypeExchange + " content, so " + needed + " are skipped"
	sub.Fix = "start it once: tenantwatch scan --start-subscriptions (a one-time write; the first content can take up to 12 hours)"
	return perm, sub
}

// webhookAt reports whether w is enabled at want's host and path.
func webhookAt(w *activityfeed.Webhook, want string) bool {
	return w != nil && strings.EqualFold(w.Status, "enabled") && hostPath(w.Address) == hostPath(want)
}

// hostPath is a URL's host and path, without scheme, user or query.
func hostPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host) + u.EscapedPath()
}

// webhookText describes a subscription's webhook by status and host only
// (its address may carry a function key).
func webhookText(w *activityfeed.Webhook) string {
	if w == nil || w.Address == "" {
		return "none (content is polled)"
	}
	host := w.Address
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	return oneLine(w.Status) + " at " + host
}
