package activityfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantwatch/tenantwatch/shared/httpbound"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Error codes of the Management Activity API this package tells apart
// (office-365-management-activity-api-reference.md, "Errors").
const (
	codeMissingPermission = "AF10001" // the token lacks ActivityFeed.Read
	codeTenantMismatch    = "AF20010" // URL tenant ≠ token tenant
	codeNoTenant          = "AF20011" // the tenant id does not exist or was deleted
	codeInvalidContent    = "AF20020" // invalid content type
	codeNoSubscription    = "AF20022" // no subscription for the content type
	codeDisabled          = "AF20023" // the subscription was disabled by an admin
	codeBadWindow         = "AF20030" // start/end not both given, > 24 h apart or > 7 days back
	codeNoContent         = "AF20050" // the content does not exist
	codeExpired           = "AF20051" // the content expired (older than 7 days)
	codeThrottled         = "AF429"   // too many requests (answered with 403)
	codeRetry             = "AF50000" // internal error: retry the request
)

// Error is a failed call. It unwraps to a tenant sentinel (Err) and to
// the transport, context or token error behind it; its fields carry the
// detail. Error() is one redacted line that says what failed and what to
// do.
type Error struct {
	Op      string // "GET /subscriptions/content", relative to the feed root
	Status  int    // HTTP status; 0 without an HTTP answer
	Code    string // the API's error code, e.g. "AF20022"
	Message string // the API's message (first line, redacted), or a description
	// Err is the tenant sentinel (tenant.ErrAccessDenied,
	// tenant.ErrNotSubscribed, tenant.ErrAuditingDisabled, …), or nil.
	Err   error
	cause error
}

// Error returns one line, redacted.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("activity feed: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Status != 0 && afCode.MatchString(e.Code):
		fmt.Fprintf(&b, "%d %s: %s", e.Status, e.Code, e.Message)
	case e.Status != 0:
		fmt.Fprintf(&b, "%d: %s", e.Status, e.Message)
	default:
		b.WriteString(e.Message)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" (")
		b.WriteString(h)
		b.WriteString(")")
	}
	return redact.Text(b.String())
}

func (e *Error) hint() string {
	switch {
	case errors.Is(e.Err, tenant.ErrAuditingDisabled):
		return "turn on audit log search: Microsoft Purview › Audit, or Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true"
	case errors.Is(e.Err, tenant.ErrNotSubscribed):
		return "start it once: tenantwatch scan --start-subscriptions"
	case errors.Is(e.Err, tenant.ErrAccessDenied) && e.Status != 0:
		return "grant ActivityFeed.Read of the Office 365 Management APIs to the identity, with admin consent"
	}
	return ""
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// afCode is the form of the API's documented error codes; other codes
// (a .NET operation name, seen for a tenant whose audit log is off) are
// kept in Error.Code but not printed.
var afCode = regexp.MustCompile(`^AF[0-9]{3,5}$`)

// apiError is the API's error body: {"error":{"code","message"}}.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// maxMessage bounds the API's message in an Error.
const maxMessage = 300

// parseError returns the code and the message of an error body, each on
// one line, printable and bounded; a body that is not the API's error
// object gives its start as the message.
func parseError(body []byte) (code, message string) {
	var ae apiError
	if err := json.Unmarshal(body, &ae); err == nil && (ae.Error.Code != "" || ae.Error.Message != "") {
		code, message = ae.Error.Code, ae.Error.Message
	} else {
		message = string(body)
	}
	// A .NET exception carries its stack trace after the first line.
	if i := strings.Index(message, "\n"); i >= 0 {
		message = message[:i]
	}
	return clean(code, 80), clean(message, maxMessage)
}

// clean makes s one printable line of at most n bytes (valid UTF-8).
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.Fields(strings.Map(printable, s)), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

// auditingDisabled reports whether an error message is the API's answer
// for a tenant whose unified audit log is off: the troubleshooting page
// ("Enabling unified audit logging in Office 365") says such calls fail
// with "Microsoft.Office.Compliance.Audit.DataServiceException: Tenant
// <tenantID> does not exist."
func auditingDisabled(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "dataserviceexception") && strings.Contains(m, "does not exist")
}

// sentinel maps an answer to a tenant sentinel.
func sentinel(status int, code, message string) error {
	switch {
	case auditingDisabled(message):
		return tenant.ErrAuditingDisabled
	case code == codeNoSubscription || code == codeDisabled:
		return tenant.ErrNotSubscribed
	case code == codeThrottled || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return tenant.ErrThrottled
	case code == codeMissingPermission || code == codeTenantMismatch ||
		status == http.StatusUnauthorized || status == http.StatusForbidden:
		return tenant.ErrAccessDenied
	case code == codeNoContent || code == codeExpired || code == codeNoTenant || status == http.StatusNotFound:
		return tenant.ErrNotFound
	case strings.HasPrefix(code, "AF2") || status == http.StatusBadRequest:
		return tenant.ErrBadRequest
	}
	return nil
}

// httpError builds the Error of an error answer whose body is in memory.
func httpError(op string, resp *http.Response) *Error {
	var body []byte
	if eb, ok := resp.Body.(*errBody); ok {
		body = eb.b
	}
	code, msg := parseError(body)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Op: op, Status: resp.StatusCode, Code: code, Message: msg, Err: sentinel(resp.StatusCode, code, msg)}
}

// callError builds the Error of a call that got no usable answer: a bound
// met, the context ended, no token, no connection.
func callError(ctx context.Context, op string, err error) *Error {
	var le *httpbound.Error
	var ae *azcore.ResponseError
	switch {
	case errors.As(err, &le):
		return &Error{Op: op, Status: le.Status, Message: le.Msg, Err: le.Err, cause: err}
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		return &Error{Op: op, Message: oneLine(cause.Error()), cause: cause}
	case errors.As(err, &ae):
		return &Error{Op: op, Status: ae.StatusCode, Message: "get token: " + oneLine(err.Error()), cause: err}
	case isTokenError(err):
		return &Error{Op: op, Message: "get token for " + Scope + ": " + oneLine(err.Error()), cause: err}
	}
	return &Error{Op: op, Message: "no answer (" + httpbound.Reason(err) + "); check the --activity-url and the network", Err: tenant.ErrUnreachable, cause: err}
}

// tokenError marks an error of the credential.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

func isTokenError(err error) bool {
	var te *tokenError
	return errors.As(err, &te)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
