package graph

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unique"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Page sizes: the documented maxima.
const (
	topDirectory      = 999  // users, servicePrincipals, applications, appRoleAssignedTo ($top 1–999)
	topSignInActivity = 500  // users with signInActivity selected
	topAudits         = 999  // directoryAudits
	topSignIns        = 1000 // signIns (maximum and default)
)

// stream runs one list read of a small collection (the bulk reads are
// readList's, pages.go): get fetches the first page (with the read's query
// options) and the SDK page iterator follows @odata.nextLink, calling each
// for every item. Only one page is held at a time; a next link the read has
// already followed ends it (errRepeatedLink). An error from each stops the
// read and is returned unchanged; every other error goes through classify.
func stream[T any](ctx context.Context, c *Client, op string, src tenant.Source,
	get func(context.Context) (serialization.Parsable, error),
	factory serialization.ParsableFactory, each func(T) error,
) (err error) {
	start := time.Now()
	xctx, x := withExchange(ctx)
	items := 0
	defer func() {
		requests, retries, _ := x.snapshot()
		attrs := []slog.Attr{slog.String("op", op), slog.Int("items", items), slog.Int("requests", requests),
			slog.Int("retries", retries), slog.Duration("took", time.Since(start))}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "graph: read", attrs...)
	}()

	first, err := get(xctx)
	if err != nil {
		return c.classify(ctx, op, src, x, err)
	}
	if first == nil { // 204 or an empty body: nothing to list
		return nil
	}
	// Pass the adapter built here, not the client's GetAdapter(), through
	// a pager that ends the read if a next link repeats.
	it, err := msgraphcore.NewPageIterator[T](first, newPager(c.adapter), factory)
	if err != nil {
		return c.classify(ctx, op, src, x, err)
	}
	var cbErr error
	err = it.Iterate(xctx, func(item T) bool {
		items++
		cbErr = each(item)
		return cbErr == nil
	})
	if cbErr != nil {
		return cbErr
	}
	if err != nil {
		return c.classify(ctx, op, src, x, err)
	}
	return nil
}

// parsable adapts a typed first-page getter to stream. The SDK's getters
// return interface types, so a nil result stays a nil Parsable.
func parsable[R serialization.Parsable](r R, err error) (serialization.Parsable, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}

// fields splits a $select list kept as a constant.
func fields(list string) []string { return strings.Split(list, ",") }

// gmtFilter formats a time for an OData $filter: UTC, whole seconds, Z.
func gmtFilter(field string, since time.Time) *string {
	if since.IsZero() {
		return nil
	}
	s := fmt.Sprintf("%s ge %s", field, since.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z"))
	return &s
}

// toTime converts an SDK date: nil and 0001-01-01T00:00:00Z ("never")
// become the zero time; others are returned in UTC.
func toTime(t *time.Time) time.Time {
	if t == nil || t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// intern returns the canonical copy of a string that repeats across a
// tenant (SKU and plan ids, user types, method names), so that 100,000
// users share a handful of strings instead of holding 100,000 copies.
func intern(s string) string { return unique.Make(s).Value() }

// str dereferences an SDK string.
func str(p *string) string { return deref(p) }

// stringer renders SDK GUIDs and enums: "" for nil, else String().
func stringer[T interface{ String() string }](p *T) string {
	if p == nil {
		return ""
	}
	return (*p).String()
}
