package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tenantwatch/tenantwatch/shared/httpbound"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Error is a failed Graph read. errors.Is(err, tenant.ErrAccessDenied) and
// the other tenant.Err* sentinels tell callers what kind of failure it was;
// the fields carry the detail for messages and logs. Neither Message nor
// Error's line ever shows a secret (shared/redact): a URL in Graph's
// message or in a transport error keeps only its scheme, host and path, and
// a quoted clientState or function key (code=) is replaced. The cause that
// Unwrap returns is for deciding, not for printing.
type Error struct {
	Op         string // "GET /auditLogs/signIns"
	Status     int    // HTTP status; 0 when there was no HTTP answer
	Code       string // Graph error code, e.g. "Authorization_RequestDenied"
	Message    string // Graph's message, or a description of the failure (redacted)
	Permission string // least application permission the read needs, e.g. "AuditLog.Read.All"
	Licence    string // licence the read needs, if any, e.g. "an Entra ID P1 or P2 licence"
	// Err is the tenant sentinel for this failure (tenant.ErrAccessDenied,
	// …), or nil when none applies (401, other 5xx, token, decode errors).
	Err error

	kind    errorKind
	cause   error  // transport, context, token or decode error; never an SDK error model
	target  string // graphURL + "/v1.0"
	retries int    // retries spent on this read
}

type errorKind int

const (
	kindHTTP        errorKind = iota // Graph answered with an error status
	kindUnreachable                  // no HTTP answer
	kindToken                        // the credential could not get a token
	kindPlain                        // the caller's context ended, or a failure found before or after the wire
	kindDecode                       // the answer could not be decoded
)

// Error returns one line that says what failed and what to do about it,
// redacted.
func (e *Error) Error() string { return redact.Text(e.line()) }

func (e *Error) line() string {
	switch e.kind {
	case kindUnreachable:
		return fmt.Sprintf("graph: cannot reach %s: %s (check --graph-url)", e.target, e.Message)
	case kindToken:
		return fmt.Sprintf("graph: %s: cannot get a token: %s (check the azure credential: az login, managed identity, or AZURE_TENANT_ID, AZURE_CLIENT_ID and a client secret or certificate)", e.Op, e.Message)
	case kindPlain:
		return fmt.Sprintf("graph: %s: %s", e.Op, e.Message)
	case kindDecode:
		return fmt.Sprintf("graph: %s: cannot decode the response: %s (is --graph-url a microsoft graph endpoint?)", e.Op, e.Message)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "graph: %s: %d", e.Op, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" (" + h + ")")
	}
	return b.String()
}

func (e *Error) hint() string {
	switch {
	case errors.Is(e.Err, tenant.ErrAccessDenied):
		if e.Permission == "" {
			return "check the app's permissions"
		}
		if e.Licence == "" {
			return "needs " + e.Permission
		}
		return "needs " + e.Permission + " and " + e.Licence
	case errors.Is(e.Err, tenant.ErrThrottled):
		if e.retries == 0 {
			return "throttled and not retried; try again later"
		}
		return fmt.Sprintf("still throttled after %d retries; try again later", e.retries)
	case errors.Is(e.Err, tenant.ErrDeltaExpired):
		return "the delta link expired; run a full round"
	case e.Status == http.StatusUnauthorized:
		return "check the credential and that the app exists and is consented in this tenant"
	case e.Status >= 500:
		return "graph server error; try again later"
	}
	return ""
}

// Unwrap returns the tenant sentinel and the underlying cause (a transport,
// context, token or decode error), whichever are present.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// classify is the one place where a failed read becomes an *Error. ctx is
// the caller's context, x what the read saw on the wire (may be nil).
func (c *Client) classify(ctx context.Context, op string, src tenant.Source, x *exchange, err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	e := &Error{Op: op, target: redact.URL(c.base)}
	defer func() { e.Message = redact.Text(e.Message) }() // whichever branch returns
	e.Permission, e.Licence = needs(src)
	status := 0
	if x != nil {
		_, e.retries, status = x.snapshot()
	}

	var (
		oe  *odataerrors.ODataError
		ae  *abstractions.ApiError
		te  *tokenError
		le  *httpbound.Error
		ue  *url.Error
		ne  net.Error
		msg string
	)
	switch {
	case ctx.Err() != nil:
		e.kind, e.Message, e.cause = kindPlain, ctxReason(ctx), ctx.Err()
		return e
	case errors.As(err, &le):
		// One of the client's bounds ended the read (bounds.go).
		e.kind, e.Message, e.cause, e.Status, e.Err = kindPlain, le.Msg, le, le.Status, le.Err
		return e
	case errors.As(err, &te):
		e.kind, e.Message, e.cause = kindToken, oneLine(te.err.Error()), te.err
		return e
	case errors.As(err, &oe):
		// ODataError.Error() dereferences error.message without a nil
		// check: never call it, read the parts.
		status = oe.ResponseStatusCode
		if me := oe.GetErrorEscaped(); me != nil {
			e.Code = deref(me.GetCode())
			msg = deref(me.GetMessage())
		}
	case errors.As(err, &ae):
		// No error mapping (the page iterator's next pages) or no body:
		// read the kept body ourselves.
		status = ae.ResponseStatusCode
		e.Code, msg = graphError(x)
	case errors.As(err, &ue), errors.As(err, &ne):
		e.kind, e.Message, e.cause, e.Err = kindUnreachable, httpbound.Reason(err), err, tenant.ErrUnreachable
		return e
	case status < 400:
		e.kind, e.Message, e.cause = kindDecode, oneLine(err.Error()), err
		return e
	}
	if e.Code == "" && msg == "" && oe == nil && ae == nil {
		// The error body was not JSON the SDK could parse.
		e.Code, msg = graphError(x)
	}
	// An HTTP error status. status may come from the wire record alone,
	// when the body was not a Graph error the SDK could parse.
	e.Status = status
	e.Message = oneLine(msg)
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(status))
	}
	e.Err = sentinel(status, e.Code)
	return e
}

// ctxReason says why the caller's context ended: the cause given to a
// deadline (a scan's --timeout, a function run's deadline) when there is
// one, else the context's error.
func ctxReason(ctx context.Context) string {
	if cause := context.Cause(ctx); cause != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(cause, context.DeadlineExceeded) {
		return oneLine(cause.Error())
	}
	return ctx.Err().Error()
}

// graphError reads code and message from the error body the tracker kept,
// if it is a Graph error document.
func graphError(x *exchange) (code, message string) {
	if x == nil {
		return "", ""
	}
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(x.errorBody(), &doc) != nil {
		return "", ""
	}
	return doc.Error.Code, doc.Error.Message
}

// sentinel maps an HTTP status and Graph error code to a tenant sentinel.
func sentinel(status int, code string) error {
	switch {
	case status == http.StatusGone || strings.EqualFold(code, "syncStateNotFound") || strings.EqualFold(code, "resyncRequired"):
		// 410 Gone: a sync reset after tenant maintenance; the codes: an
		// expired delta token (concepts/delta-query-overview.md, "Token
		// duration"; concepts/errors.md, "Code property").
		return tenant.ErrDeltaExpired
	case status == http.StatusForbidden:
		return tenant.ErrAccessDenied
	case status == http.StatusNotFound:
		return tenant.ErrNotFound
	case status == http.StatusBadRequest:
		return tenant.ErrBadRequest
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return tenant.ErrThrottled
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
