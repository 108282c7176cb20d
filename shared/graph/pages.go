package graph

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tenantwatch/tenantwatch/shared/graph/internal/pagejson"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Bulk reads.
//
// A bulk read builds its first request with the SDK's request builder
// (ToGetRequestInformation) and sends it, and each page it follows, through
// the SDK's request adapter and so through the client's middleware (bounds,
// retries, redaction, typednull), asking for the body as bytes; it decodes
// the pages itself (decode.go). Error answers become the SDK's
// *odataerrors.ODataError as for any SDK call, and classify turns them into
// *Error.
//
// Reading ahead. Once a page's bytes are in, its @odata.nextLink is found
// by a scan of the page's top-level object that steps over the value array,
// and the next page is requested in a goroutine while this page is decoded
// and its items handed to the callback: one page ahead at most, so a read
// holds at most two pages' bytes (the one being decoded and the one
// arriving). The request ahead is cancelled, and waited for (its body
// closed), when the callback returns an error or the page cannot be
// decoded. A read does not request ahead until its callback has accepted an
// item: a read that stops at its first item (a probe) costs one request.
//
// The page loop is the SDK page iterator's: it follows @odata.nextLink
// until a page has none (or an empty one); a page without a value array
// has no items; a value that is not an array, a page that is not JSON and
// a next page that is empty are decode failures; a next link the read has
// already requested ends it (errRepeatedLink), as does any error of a
// later page, after the items of the pages before it were handed over.
// Unlike the page iterator, a null element of the value array is skipped:
// the iterator panics on one.

// odataErrorMapping is the error mapping of every SDK request builder.
var odataErrorMapping = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// bulkRead is one bulk read.
type bulkRead[T any] struct {
	op    string        // for messages and logs, e.g. "GET /users"
	src   tenant.Source // for the permission in messages
	delta bool          // a delta round: its last page carries @odata.deltaLink
	// resumed is a delta round from a stored link, for the log.
	resumed bool
	// first returns the first request, built by the SDK's request builder.
	first func(context.Context) (*abstractions.RequestInformation, error)
	// item decodes one element of a page's value array; ok is false for
	// an element that is not an item (null).
	item func(d *dec) (v T, ok bool, err error)
}

// listItems adapts an item decoder to a list read: null elements are
// skipped, as the SDK's conversions skip nil models.
func listItems[T any](read func(*dec, memberHook) (T, pagejson.Kind, error)) func(*dec) (T, bool, error) {
	return func(d *dec) (T, bool, error) {
		v, k, err := read(d, nil)
		return v, k != pagejson.Null, err
	}
}

// readList runs a bulk list read, handing each item to each; see the notes
// above. An error from each stops the read and is returned unchanged;
// every other error is an *Error.
func readList[T any](ctx context.Context, c *Client, op string, src tenant.Source,
	first func(context.Context) (*abstractions.RequestInformation, error),
	read func(*dec, memberHook) (T, pagejson.Kind, error), each func(T) error,
) error {
	_, err := readPages(ctx, c, bulkRead[T]{op: op, src: src, first: first, item: listItems(read)}, each)
	return err
}

// readPages runs r, handing each item to each, and returns the delta link
// of a delta round's last page.
func readPages[T any](ctx context.Context, c *Client, r bulkRead[T], each func(T) error) (link string, err error) {
	start := time.Now()
	xctx, x := withExchange(ctx)
	items := 0
	defer func() {
		requests, retries, _ := x.snapshot()
		attrs := []slog.Attr{slog.String("op", r.op), slog.Int("items", items), slog.Int("requests", requests),
			slog.Int("retries", retries), slog.Duration("took", time.Since(start))}
		msg := "graph: read"
		if r.delta {
			msg = "graph: delta round"
			attrs = append(attrs, slog.Bool("resumed", r.resumed))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
	}()

	ri, err := r.first(xctx)
	if err != nil {
		return "", c.classify(ctx, r.op, r.src, x, err)
	}
	pr := &pageReader{c: c, x: x, seen: make(linkSet)}
	body, err := pr.fetch(xctx, ri)
	if err != nil {
		return "", c.classify(ctx, r.op, r.src, x, err)
	}
	var (
		d        = newDec()
		vals     []T
		next     *ahead // the request ahead, if any
		accepted bool   // the callback has accepted an item
	)
	defer func() {
		if next != nil {
			next.stop()
		}
	}()
	for pageNo := 1; ; pageNo++ {
		var p page
		if body != nil {
			if p, err = scanPage(d, body, r.delta); err != nil {
				return "", c.decodeError(ctx, r.op, r.src, err)
			}
		}
		if body == nil || p.null {
			switch {
			case pageNo > 1:
				return "", c.decodeError(ctx, r.op, r.src, errors.New("a next page is empty"))
			case r.delta:
				return "", &Error{Op: r.op, Message: "empty response", kind: kindDecode, target: c.base}
			}
			return "", nil // 204 or an empty body: nothing to list
		}
		follow := p.next != ""
		if follow && accepted {
			next = pr.ahead(xctx, p.next)
		}
		vals, err = decodeValue(d, p.value, vals[:0], r.item)
		body = nil // the items hold copies
		if err != nil {
			return "", c.decodeError(ctx, r.op, r.src, err)
		}
		for _, v := range vals {
			items++
			if err := each(v); err != nil {
				return "", err
			}
			if !accepted {
				accepted = true
				if follow {
					next = pr.ahead(xctx, p.next)
				}
			}
		}
		if !follow {
			if !r.delta {
				return "", nil
			}
			if p.delta == "" {
				return "", &Error{Op: r.op, Message: "the last page carries no @odata.deltaLink", kind: kindDecode, target: c.base}
			}
			return p.delta, nil
		}
		if next == nil { // nothing accepted yet: request the next page now
			next = pr.ahead(xctx, p.next)
		}
		body, err = next.wait()
		next = nil
		if err != nil {
			return "", c.classify(ctx, r.op, r.src, x, err)
		}
	}
}

// decodeError is a page this package could not decode. It is classified
// without the read's exchange, whose last answer may already be the page
// ahead's.
func (c *Client) decodeError(ctx context.Context, op string, src tenant.Source, err error) error {
	return c.classify(ctx, op, src, nil, err)
}

// page is what scanPage found at the top level of a page.
type page struct {
	null        bool   // the page is JSON null: no page at all
	value       []byte // the value array (the last "value" member), nil when absent or null
	next, delta string // @odata.nextLink, @odata.deltaLink; "" when absent or null
}

// scanPage checks that body is JSON and reads its top-level members,
// stepping over the value array. A link or a count of the wrong type fails
// the page, as in the SDK's collection responses (@odata.count is not a
// member of a delta round's pages, @odata.deltaLink only of those).
func scanPage(d *dec, body []byte, delta bool) (p page, err error) {
	if !json.Valid(body) {
		return p, errors.New("the response is not valid JSON")
	}
	d.Reset(body)
	k, err := d.Object(func(name []byte) (err error) {
		switch n := string(name); {
		case n == "value":
			p.value = nil
			if d.Kind() == pagejson.Null {
				d.Skip()
			} else {
				p.value = d.Raw()
			}
		case n == "@odata.nextLink":
			p.next, err = d.String()
		case n == "@odata.deltaLink" && delta:
			p.delta, err = d.String()
		case n == "@odata.count" && !delta:
			err = checkCount(d)
		default:
			d.Skip()
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return err
	})
	p.null = k == pagejson.Null
	return p, err
}

// checkCount reads @odata.count as the SDK does: an int64, or null.
func checkCount(d *dec) error {
	f, null, err := d.Float()
	if err != nil || null {
		return err
	}
	if f < math.MinInt64 || f > math.MaxInt64 || f != float64(int64(f)) {
		return fmt.Errorf("value '%v' is not compatible with type int64", f)
	}
	return nil
}

// decodeValue appends the items of a page's value array to out.
func decodeValue[T any](d *dec, value []byte, out []T, item func(*dec) (T, bool, error)) ([]T, error) {
	if value == nil {
		return out, nil
	}
	d.Reset(value)
	k, err := d.Array(func() error {
		v, ok, err := item(d)
		if err != nil {
			return err
		}
		if ok {
			out = append(out, v)
		}
		return nil
	})
	if err == nil && k != pagejson.Array {
		err = errNotCollection
	}
	return out, err
}

// pageReader sends one read's requests, one at a time.
type pageReader struct {
	c    *Client
	x    *exchange
	seen linkSet
}

// fetch sends ri and returns the page's bytes: nil for 204 or an answer
// without a body or content type (the SDK parses nothing there either).
func (r *pageReader) fetch(ctx context.Context, ri *abstractions.RequestInformation) ([]byte, error) {
	if err := r.seen.add(ri); err != nil {
		return nil, err
	}
	v, err := r.c.adapter.SendPrimitive(ctx, ri, "[]byte", odataErrorMapping)
	if err != nil {
		return nil, err
	}
	body, _ := v.([]byte)
	// The content type of the answer just read: a read has one request
	// in flight at a time.
	ct := r.x.contentType()
	switch {
	case ct == "":
		return nil, nil
	case !isJSON(ct):
		if len(body) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("the response is %s, not JSON", oneLine(ct))
	case len(body) == 0:
		return nil, errors.New("the response body is empty")
	}
	return body, nil
}

// vendorPrefix is what kiota's parse-node registry strips from a vendor
// content type (application/vnd.x+json → application/json).
var vendorPrefix = regexp.MustCompile(`[^/]+\+`)

// isJSON reports whether kiota would parse a body of content type ct (a
// Content-Type header) as JSON: its media type, lower-cased, is
// application/json, possibly with a vendor prefix.
func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(mt)
	return mt == "application/json" || vendorPrefix.ReplaceAllString(mt, "") == "application/json"
}

// ahead is a page requested ahead.
type ahead struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the request has ended
	body   []byte
	err    error
}

// ahead requests the page at link in a goroutine of its own.
func (r *pageReader) ahead(ctx context.Context, link string) *ahead {
	a := &ahead{done: make(chan struct{}), cancel: func() {}}
	u, err := url.Parse(link)
	if err != nil {
		a.err = errors.New("the @odata.nextLink is not a url")
		close(a.done)
		return a
	}
	ri := abstractions.NewRequestInformation()
	ri.Method = abstractions.GET
	ri.SetUri(*u)
	ctx, a.cancel = context.WithCancel(ctx)
	r.c.ahead.Add(1)
	go r.prefetch(ctx, ri, a)
	return a
}

// prefetch runs one request ahead.
func (r *pageReader) prefetch(ctx context.Context, ri *abstractions.RequestInformation, a *ahead) {
	defer func() {
		r.c.ahead.Add(-1)
		close(a.done)
	}()
	a.body, a.err = r.fetch(ctx, ri)
}

// wait returns the page when it is in.
func (a *ahead) wait() ([]byte, error) {
	<-a.done
	a.cancel()
	return a.body, a.err
}

// stop cancels the request and returns once it has ended, its body closed.
func (a *ahead) stop() {
	a.cancel()
	<-a.done
}

// linkSet holds the URLs a read has requested.
type linkSet map[[sha256.Size]byte]struct{}

// add records ri's URL, or returns errRepeatedLink if it is there already:
// the pages would repeat forever.
func (s linkSet) add(ri *abstractions.RequestInformation) error {
	u, err := ri.GetUri()
	if err != nil {
		return nil // the adapter reports it
	}
	k := sha256.Sum256([]byte(u.String()))
	if _, ok := s[k]; ok {
		return errRepeatedLink
	}
	s[k] = struct{}{}
	return nil
}
