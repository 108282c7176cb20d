package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/exoaudit"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ExchangeFeed is the Management Activity API as the deployed app's
// Exchange rounds read it: the listing of a window (the polling fallback)
// and the one blob a webhook notification announced.
// *activityfeed.Client satisfies it.
type ExchangeFeed interface {
	ActivityFeed
	// List streams the id and URI of each content blob of contentType
	// available in [start, end), without reading it; errors as Content's.
	List(ctx context.Context, contentType string, start, end time.Time, fn func(contentID, contentURI string) error) error
	// Blob reads the content blob at contentURI (which must lie in the
	// tenant's feed); errors as Content's.
	Blob(ctx context.Context, contentID, contentURI string, fn func(contentID string, body io.Reader) error) error
}

// BlobRef is a content blob a notification announced.
type BlobRef struct {
	ID, URI string
}

// ExchangeFrom is what an Exchange round reads.
type ExchangeFrom struct {
	// Blobs are the announced blobs to read; none lists the window
	// [w.Since, w.Now) instead (the poll).
	Blobs []BlobRef
	// Claim is asked before a blob is read: false skips it (its findings
	// are stored, or another round holds it). Nil reads every blob.
	Claim func(ctx context.Context, contentID string) (bool, error)
	// Admin are the Exchange admin records kept from earlier rounds: a
	// mail read is judged with the audit changes and role grants of
	// earlier blobs.
	Admin []tenant.ExchangeAdminEvent
}

// ExchangeUpdate is what an Exchange round read.
type ExchangeUpdate struct {
	// Blobs are the ids of the blobs claimed and read, for the caller to
	// complete once the findings are stored (or release on failure).
	Blobs []string
	// Admin are the round's new admin records, for the caller to keep.
	Admin   []tenant.ExchangeAdminEvent
	Records int // audit records read
	Cut     int // blobs cut short (oversized or malformed): what came before the cut was kept
	// Unavailable is the reason the feed could not be read (401/403, no
	// subscription, auditing off); the round then read nothing.
	Unavailable string
	// Snapshot holds the round's Exchange records with the kept admin
	// records and what the Exchange rules join: the reading apps' service
	// principals, the mail-resource grants, the organization, the users
	// (from the stored baselines: id and UPN) and the app objects the
	// records name. A not-enabled-for-auditing answer sets
	// Snapshot.AuditingOff. Nil when no blob was read and auditing is on.
	Snapshot *tenant.Snapshot
}

// maxRoundBlobs bounds the blobs one Exchange round reads; the rest wait
// for the next poll (the watermark does not pass them).
const maxRoundBlobs = 500

// errRoundFull ends a listing that reached maxRoundBlobs.
var errRoundFull = errors.New("collect: the round read as many blobs as it may")

// Exchange runs an Exchange round through feed: the announced blobs, or
// the listing of w's window; each blob is claimed first and read once.
// Full is true when the round stopped at its bound, before the end of the
// window. Access denied, no subscription and auditing off make the source
// unavailable (Unavailable); other errors fail the round after releasing
// nothing: the caller releases the Blobs of a failed round.
func (c *Rounds) Exchange(ctx context.Context, feed ExchangeFeed, from ExchangeFrom, w Window) (u *ExchangeUpdate, full bool, err error) {
	u = &ExchangeUpdate{}
	s := partial(w)
	var mail []tenant.MailAccess
	decode := func(id string, body io.Reader) error {
		b, err := exoaudit.Decode(body, nil)
		if b != nil {
			u.Admin = append(u.Admin, b.Admin...)
			mail = append(mail, b.MailAccess...)
			u.Records += b.Counts.Records
		}
		switch {
		case err == nil:
		case errors.Is(err, exoaudit.ErrRecordTooLarge), errors.Is(err, exoaudit.ErrTooManyRecords), errors.Is(err, exoaudit.ErrMalformedBlob):
			u.Cut++
			c.log.Warn("content blob cut short", "source", tenant.SourceExchangeAudit, "contentId", truncateID(id), "err", err)
		default:
			return err
		}
		return nil
	}
	claim := func(ctx context.Context, id string) (bool, error) {
		if from.Claim == nil {
			return true, nil
		}
		ok, err := from.Claim(ctx, id)
		if err != nil {
			return false, fmt.Errorf("collect: claim content blob %s: %w", truncateID(id), err)
		}
		return ok, nil
	}
	var feedErr error
	refs := from.Blobs
	if feed == nil {
		feedErr = fmt.Errorf("%w: %s", tenant.ErrNotSubscribed, ActivityNotConfigured)
	} else if len(refs) == 0 {
		// The poll: list the window, then read what no round claimed.
		start, _ := ActivityWindow(w.Since, w.Now)
		feedErr = feed.List(ctx, ContentTypeExchange, start, w.Now, func(id, uri string) error {
			if len(refs) >= maxRoundBlobs {
				return errRoundFull
			}
			refs = append(refs, BlobRef{ID: id, URI: uri})
			return nil
		})
		if errors.Is(feedErr, errRoundFull) {
			full, feedErr = true, nil
		}
	}
	if feedErr == nil && feed != nil {
		for _, b := range refs {
			ok, err := claim(ctx, b.ID)
			if err != nil {
				return u, false, err
			}
			if !ok {
				continue
			}
			u.Blobs = append(u.Blobs, b.ID)
			if feedErr = feed.Blob(ctx, b.ID, b.URI, decode); feedErr != nil {
				break
			}
		}
	}
	switch {
	case feedErr == nil:
	case errors.Is(feedErr, tenant.ErrAuditingDisabled):
		u.Unavailable = feedErr.Error()
		s.AuditingOff = feedErr.Error()
		s.MarkUnavailable(tenant.SourceExchangeAudit, u.Unavailable)
		// exo.org-audit-disabled judges the tenant by it: the rest of the
		// round is the organization.
		org, err := c.cachedOrganization(ctx)
		if err := c.settle(s, tenant.SourceOrganization, err); err != nil {
			return u, false, err
		}
		s.Organization = org
		u.Snapshot = s
		return u, false, nil
	case errors.Is(feedErr, tenant.ErrAccessDenied), errors.Is(feedErr, tenant.ErrNotSubscribed):
		u.Unavailable = feedErr.Error()
		c.log.Warn("source unavailable", "source", tenant.SourceExchangeAudit, "reason", u.Unavailable)
		return u, false, nil
	default:
		return u, false, fmt.Errorf("collect: read %s: %w", tenant.SourceExchangeAudit, feedErr)
	}
	if len(u.Blobs) == 0 {
		return u, full, nil
	}
	read(s, tenant.SourceExchangeAudit)
	if u.Cut > 0 {
		s.MarkPartial(tenant.SourceExchangeAudit, fmt.Sprintf("%d of %d content blobs were cut short (oversized or malformed); the records before the cut were kept", u.Cut, len(u.Blobs)))
	}
	s.MailAccess = mail
	s.ExchangeAdmin = mergeAdmin(from.Admin, u.Admin)
	// The rules judge the records by their own times, not by when their
	// blob was listed: a late blob holds records older than the listing
	// window, and the kept admin records reach back ExchangeKeep.
	if oldest := w.Now.Add(-ExchangeKeep); oldest.Before(s.Since) {
		s.Since = oldest
	}
	if err := c.exchangeContext(ctx, s); err != nil {
		return u, false, err
	}
	u.Snapshot = s
	return u, full, nil
}

// mergeAdmin returns kept and fresh admin records, each record once (by
// id), in time order.
func mergeAdmin(kept, fresh []tenant.ExchangeAdminEvent) []tenant.ExchangeAdminEvent {
	seen := make(map[string]bool, len(kept)+len(fresh))
	var out []tenant.ExchangeAdminEvent
	for _, e := range slices.Concat(kept, fresh) {
		if e.ID != "" {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b tenant.ExchangeAdminEvent) int { return a.Time.Compare(b.Time) })
	return out
}

// exchangeContext adds what the Exchange rules join: the service
// principals of the apps that read mail (read by app id: credentials,
// owner tenant), the mail-resource service principals and their grants,
// the organization (cached), the users from the stored baselines (id and
// UPN, which Exchange records name), the app objects the records name, and
// the findings earlier rounds recorded on the reading apps (Prior).
func (c *Rounds) exchangeContext(ctx context.Context, s *tenant.Snapshot) error {
	var appIDs []string
	for _, m := range s.MailAccess {
		if id := m.ReaderAppID(); id != "" {
			appIDs = append(appIDs, id)
		}
	}
	// The apps Exchange roles are assigned to (-App: an app id or the
	// service principal's object id; an object id reads nothing by app id
	// and is resolved from the baselines below).
	for _, e := range s.ExchangeAdmin {
		if !strings.EqualFold(e.Cmdlet, "New-ManagementRoleAssignment") {
			continue
		}
		if v, ok := e.Param("App"); ok && tenant.IsGUID(strings.TrimSpace(v)) {
			appIDs = append(appIDs, v)
		}
	}
	appIDs = c.capList("reading app ids", lowerAll(appIDs))
	if len(appIDs) > 0 {
		err := c.r.ServicePrincipalsByAppID(ctx, appIDs, func(sp tenant.ServicePrincipal) error {
			s.ServicePrincipals = append(s.ServicePrincipals, sp)
			return nil
		})
		if err := c.settle(s, tenant.SourceServicePrincipals, err); err != nil {
			return err
		}
	}
	if err := c.priorFindings(ctx, s, appIDs); err != nil {
		return err
	}
	if err := c.addResources(ctx, s); err != nil {
		return err
	}
	org, err := c.cachedOrganization(ctx)
	if err := c.settle(s, tenant.SourceOrganization, err); err != nil {
		return err
	}
	s.Organization = org
	// The users as their baselines hold them: id, UPN and the licence
	// plans disabled ("skuId/planId"), with the SKUs, so that mail.audit-gap
	// also sees the users whose Advanced Auditing was switched off.
	err = c.st.Baselines(ctx, tenant.SubjectUser, func(b state.Baseline) error {
		// The baselines do not keep accountEnabled: taken as enabled, so
		// that a mailbox whose owner's account is disabled still counts
		// when an app reads it.
		u := tenant.User{ID: b.ID, UPN: b.Name, AccountEnabled: true}
		bySku := map[string]int{}
		for _, p := range b.DisabledPlans {
			sku, plan, ok := strings.Cut(p, "/")
			if !ok {
				continue
			}
			i, seen := bySku[sku]
			if !seen {
				i = len(u.Licenses)
				bySku[sku] = i
				u.Licenses = append(u.Licenses, tenant.License{SkuID: sku})
			}
			u.Licenses[i].DisabledPlans = append(u.Licenses[i].DisabledPlans, plan)
		}
		s.Users = append(s.Users, u)
		return nil
	})
	if err != nil {
		return fmt.Errorf("collect: user baselines for Exchange identities: %w", err)
	}
	read(s, tenant.SourceUsers)
	skus, err := c.cachedSKUs(ctx)
	if err := c.settle(s, tenant.SourceSubscribedSkus, err); err != nil {
		return err
	}
	s.SKUs = skus
	return c.resolveApps(ctx, s)
}

// priorFindings adds to s.Prior the stored findings mail.app-collection
// joins (detect.PriorAccessRules) on the apps that read mail — subject the
// app's service principal (s holds those read by app id) or application, or
// evidence naming its app id — last seen within detect.LeadTime before the
// window's first read. The findings are streamed; only those are kept.
func (c *Rounds) priorFindings(ctx context.Context, s *tenant.Snapshot, appIDs []string) error {
	var first time.Time
	for _, m := range s.MailAccess {
		if m.ReaderAppID() != "" && (first.IsZero() || m.Time.Before(first)) {
			first = m.Time
		}
	}
	if first.IsZero() {
		return nil
	}
	cutoff := first.Add(-detect.LeadTime)
	apps := make(map[string]bool, len(appIDs))
	for _, id := range appIDs {
		apps[id] = true
	}
	objects := make(map[string]bool)
	for _, sp := range s.ServicePrincipals {
		if apps[strings.ToLower(strings.TrimSpace(sp.AppID))] {
			objects[strings.ToLower(strings.TrimSpace(sp.ID))] = true
		}
	}
	// The applications and service principals of the reading apps, as
	// their baselines name them (an application and its service principal
	// are one app).
	for _, typ := range []tenant.SubjectType{tenant.SubjectApplication, tenant.SubjectServicePrincipal} {
		err := c.st.Baselines(ctx, typ, func(b state.Baseline) error {
			if apps[strings.ToLower(strings.TrimSpace(b.AppID))] {
				objects[strings.ToLower(strings.TrimSpace(b.ID))] = true
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("collect: %s baselines for earlier findings: %w", typ, err)
		}
	}
	rules := make(map[string]bool, len(detect.PriorAccessRules))
	for _, r := range detect.PriorAccessRules {
		rules[r] = true
	}
	var kept int
	err := c.st.Findings(ctx, func(rec state.FindingRecord) error {
		f := rec.Finding
		if !rules[f.Rule] || rec.LastSeen.Before(cutoff) {
			return nil
		}
		appID, _ := f.Evidence["appId"].(string)
		if !objects[strings.ToLower(strings.TrimSpace(f.Subject.ID))] && !apps[strings.ToLower(strings.TrimSpace(appID))] {
			return nil
		}
		if kept >= maxPrior {
			return nil
		}
		kept++
		s.Prior = append(s.Prior, f)
		return nil
	})
	if err != nil {
		return fmt.Errorf("collect: earlier findings for the reading apps: %w", err)
	}
	if kept >= maxPrior {
		c.log.Warn("earlier findings on the reading apps cut", "kept", maxPrior)
	}
	return nil
}

// maxPrior bounds the earlier findings an Exchange round joins.
const maxPrior = 1000

// ExchangeKeep is how long the app keeps Exchange admin records for the
// joins: mail.app-collection looks 30 days back for a role grant.
const ExchangeKeep = 30 * 24 * time.Hour
