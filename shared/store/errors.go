package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Sentinel errors. Callers test with errors.Is; the service's
// *azcore.ResponseError, when there was one, stays reachable with
// errors.As. The package's errors never show a secret (shared/redact): a
// cause taken out with errors.As is for deciding, not for printing — its
// own message quotes the request URL with its SAS.
var (
	// ErrConflict: an optimistic-concurrency loss. The row changed (412),
	// appeared (409) or disappeared since it was read; read it again and
	// decide again. It wraps tenant.ErrConflict, which callers that do not
	// import the store test for.
	ErrConflict = fmt.Errorf("store: %w", tenant.ErrConflict)
	// ErrNotFound: the row an operation needs does not exist. It wraps
	// tenant.ErrNotFound.
	ErrNotFound = fmt.Errorf("store: %w", tenant.ErrNotFound)
)

// opError is the one error type the package returns for a failed storage
// call: a one-line message naming the operation, the condition (a sentinel,
// or none) and the cause, and Unwrap to both.
type opError struct {
	op   string // what was attempted: "save cursor \"users\""
	kind error  // ErrConflict, ErrNotFound, tenant.ErrUnreachable or nil
	err  error  // the cause, often an *azcore.ResponseError
}

func (e *opError) Error() string {
	var b strings.Builder
	b.WriteString("store: ")
	b.WriteString(e.op)
	switch {
	case e.kind == ErrConflict:
		b.WriteString(": conflict")
	case e.kind == ErrNotFound:
		b.WriteString(": not found")
	case e.kind == tenant.ErrUnreachable:
		b.WriteString(": table storage unreachable")
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(causeText(e.err))
	}
	return b.String()
}

func (e *opError) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.err != nil {
		out = append(out, e.err)
	}
	return out
}

// causeText renders a cause on one line: a service error as its status and
// error code (its own message spans many lines and quotes the request URL,
// SAS included), anything else flattened and redacted (a transport error
// quotes the URL too).
func causeText(err error) string {
	if status, code, ok := batchFailure(err); ok {
		s := fmt.Sprintf("transaction refused: operation answered %d %s", status, http.StatusText(status))
		if code != "" {
			s += " (" + code + ")"
		}
		return s
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		s := fmt.Sprintf("%d %s", re.StatusCode, http.StatusText(re.StatusCode))
		if re.ErrorCode != "" {
			s += " (" + re.ErrorCode + ")"
		}
		return s
	}
	return redact.Text(strings.Join(strings.Fields(err.Error()), " "))
}

// wrap classifies err from a storage call made for op. It returns nil for
// nil. 409 and 412 become ErrConflict, a missing entity ErrNotFound, no
// HTTP answer at all tenant.ErrUnreachable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var oe *opError
	if errors.As(err, &oe) {
		if oe.op == "" {
			return &opError{op: op, kind: oe.kind, err: oe.err}
		}
		return err
	}
	return &opError{op: op, kind: kindOf(err), err: err}
}

// wrapAs wraps err for op with an explicit condition.
func wrapAs(op string, kind, err error) error {
	return &opError{op: op, kind: kind, err: err}
}

// kindOf picks the sentinel for a storage error.
func kindOf(err error) error {
	switch {
	case isStatus(err, http.StatusConflict, http.StatusPreconditionFailed):
		return ErrConflict
	case isBatchEntityFailure(err):
		if status, _, _ := batchFailure(err); status == http.StatusConflict || status == http.StatusPreconditionFailed {
			return ErrConflict
		}
		return nil
	case isEntityNotFound(err):
		return ErrNotFound
	case isUnreachable(err):
		return tenant.ErrUnreachable
	}
	return nil
}

// responseError returns the service error in err's chain, if any.
func responseError(err error) *azcore.ResponseError {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// isStatus reports whether err is a service answer with one of codes.
func isStatus(err error, codes ...int) bool {
	re := responseError(err)
	if re == nil {
		return false
	}
	for _, c := range codes {
		if re.StatusCode == c {
			return true
		}
	}
	return false
}

// isEntityNotFound reports a 404 about an entity (not a missing table,
// which means Init was not run).
func isEntityNotFound(err error) bool {
	re := responseError(err)
	return re != nil && re.StatusCode == http.StatusNotFound && re.ErrorCode != "TableNotFound"
}

// isUnreachable reports an error without any HTTP answer: refused or reset
// connections, DNS failures, timeouts of the transport.
func isUnreachable(err error) bool {
	if err == nil || responseError(err) != nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up; not a verdict on the storage
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	}
	return false
}
