package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/exoaudit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ActivityFeed is the Office 365 Management Activity API as collection reads it.
type ActivityFeed interface {
	// Content streams the body of each content blob of contentType (e.g.
	// "Audit.Exchange") whose contentCreated lies in [start, end), one blob at a
	// time, each blob once per call; fn must consume body before it returns.
	// The implementation splits the window into the API's 24-hour slices, follows
	// NextPageUri, and bounds every read. Errors wrap tenant.ErrAccessDenied
	// (401/403), tenant.ErrNotSubscribed (no started subscription for the content
	// type), tenant.ErrAuditingDisabled (tenant not enabled for auditing; the
	// error text carries the API's message), or the other tenant sentinels.
	Content(ctx context.Context, contentType string, start, end time.Time,
		fn func(contentID string, body io.Reader) error) error
}

// The Management Activity API's content type of Exchange records, and how
// long it keeps content.
const (
	ContentTypeExchange = "Audit.Exchange"
	ActivityRetention   = 7 * 24 * time.Hour
)

// ActivityNotConfigured is the reason SourceExchangeAudit is unavailable
// when a collection has no ActivityFeed.
const ActivityNotConfigured = "the Management Activity API is not configured"

// ActivityWindow is the part of [since, now) the Management Activity API
// can serve: it keeps ActivityRetention of content. capped reports whether
// since asked for more.
func ActivityWindow(since, now time.Time) (start time.Time, capped bool) {
	if oldest := now.Add(-ActivityRetention); since.Before(oldest) {
		return oldest, true
	}
	return since, false
}

// exchangeLane reads the Audit.Exchange content of the window into
// snap.ExchangeAdmin and snap.MailAccess (SourceExchangeAudit).
func (c *collector) exchangeLane(ctx context.Context) error {
	s := c.snap
	if c.o.Activity == nil {
		c.mu.Lock()
		s.MarkUnavailable(tenant.SourceExchangeAudit, ActivityNotConfigured)
		c.mu.Unlock()
		return nil
	}
	start, capped := ActivityWindow(s.Since, s.CollectedAt)
	var admin []tenant.ExchangeAdminEvent
	var mail []tenant.MailAccess
	var notes []string
	if capped {
		notes = append(notes, fmt.Sprintf("read from %s: the Management Activity API keeps 7 days of content, the window asked for starts %s",
			start.Format(time.RFC3339), s.Since.Format(time.RFC3339)))
	}
	blobs, cut, n := 0, 0, 0
	began := time.Now()
	err := c.o.Activity.Content(ctx, ContentTypeExchange, start, s.CollectedAt, func(id string, body io.Reader) error {
		blobs++
		b, err := exoaudit.Decode(body, nil)
		if b != nil {
			for _, e := range b.Admin {
				if !e.Time.Before(start) {
					admin = append(admin, e)
				}
			}
			for _, m := range b.MailAccess {
				if !m.Time.Before(start) {
					mail = append(mail, m)
				}
			}
			n += b.Counts.Records
			c.progress(tenant.SourceExchangeAudit, n, false)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, exoaudit.ErrRecordTooLarge), errors.Is(err, exoaudit.ErrTooManyRecords), errors.Is(err, exoaudit.ErrMalformedBlob):
			// A hostile or broken blob must not blind the scan to the
			// others: keep what it gave, say so, read on.
			cut++
			c.o.Logger.Warn("content blob cut short", "source", tenant.SourceExchangeAudit, "contentId", truncateID(id), "err", err)
			return nil
		}
		return fmt.Errorf("content blob %s: %w", truncateID(id), err)
	})
	c.progress(tenant.SourceExchangeAudit, n, true)
	if cut > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d content blobs were cut short (oversized or malformed); the records before the cut were kept", cut, blobs))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		s.ExchangeAdmin, s.MailAccess = admin, mail
		for _, note := range notes {
			s.MarkPartial(tenant.SourceExchangeAudit, note)
		}
		c.o.Logger.Debug("source read", "source", tenant.SourceExchangeAudit, "blobs", blobs, "records", n,
			"elapsed", time.Since(began).Round(time.Millisecond))
		return nil
	case errors.Is(err, tenant.ErrAuditingDisabled):
		s.AuditingOff = err.Error()
		s.MarkUnavailable(tenant.SourceExchangeAudit, err.Error())
	case errors.Is(err, tenant.ErrAccessDenied), errors.Is(err, tenant.ErrNotSubscribed):
		s.MarkUnavailable(tenant.SourceExchangeAudit, err.Error())
	default:
		return fmt.Errorf("collect: read %s: %w", tenant.SourceExchangeAudit, err)
	}
	c.o.Logger.Warn("source unavailable", "source", tenant.SourceExchangeAudit, "reason", s.Unavailable[tenant.SourceExchangeAudit])
	return nil
}

// truncateID bounds a content id for messages (ids come from the API).
func truncateID(id string) string {
	if len(id) > 80 {
		return id[:80] + "…"
	}
	return id
}
