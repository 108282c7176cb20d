package tenant

import "errors"

// Sentinel errors of the adapters: reading a source (shared/graph) and
// keeping state (shared/store) wrap them in errors that carry the detail;
// callers test with errors.Is.
var (
	// ErrAccessDenied: the source answered 403 — a missing permission or a
	// licence the tenant does not have. The rules that need it are skipped.
	ErrAccessDenied = errors.New("access denied")
	// ErrNotFound: the source or object does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrThrottled: still throttled (429/503) after the retries allowed.
	ErrThrottled = errors.New("throttled")
	// ErrUnreachable: no HTTP answer at all (DNS, connection, TLS, timeout).
	ErrUnreachable = errors.New("unreachable")
	// ErrBadRequest: the source refused the request as malformed (400).
	ErrBadRequest = errors.New("bad request")
	// ErrDeltaExpired: a stored delta link is no longer valid (410 Gone or
	// syncStateNotFound); run a full round and diff against the baseline.
	ErrDeltaExpired = errors.New("delta link expired")
	// ErrConflict: an optimistic-concurrency loss. A stored record changed,
	// appeared or disappeared since it was read (its ETag no longer
	// matches); read it again and decide again.
	ErrConflict = errors.New("conflict")
	// ErrNotSubscribed: the Management Activity API has no started
	// subscription for the content type asked for (the source is skipped
	// with the reason until one is started).
	ErrNotSubscribed = errors.New("no subscription for the content type")
	// ErrAuditingDisabled: the Management Activity API answered that the
	// tenant is not enabled for auditing — itself a finding
	// (Snapshot.AuditingOff).
	ErrAuditingDisabled = errors.New("tenant not enabled for auditing")
)

// ErrBetaDisabled: a read of Graph's beta endpoint was asked for while
// beta is switched off (scan --beta=false, TENANTWATCH_BETA=false). The
// source is unavailable with BetaDisabledReason.
var ErrBetaDisabled = errors.New("beta disabled")

// BetaDisabledReason is the reason a source read from Graph's beta
// endpoint is unavailable when beta is switched off.
const BetaDisabledReason = "beta disabled (--beta=false / TENANTWATCH_BETA=false): Microsoft does not support beta in production; the rules that need authenticationProtocol are skipped"
