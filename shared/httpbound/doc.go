// Package httpbound bounds every HTTP response body a client reads: an
// attempt deadline over headers and body together, an idle-read timeout and
// a size cap, with the attempt's context released when the body is closed
// or fails. It also parses Retry-After (seconds or an HTTP date) into a
// wait, describes transport failures in a few words, and drains and closes
// responses that will not be used.
//
// It knows no SDK: shared/graph wraps it in kiota middleware and
// shared/activityfeed in azcore policies, each sending the request through
// a func. The callers keep their own words: Bounds.Server names who answers
// ("Graph", "the API") and Bounds.TooLarge says what a body over the cap
// means, so each package's messages stay its own. A bound met ends the read
// with an *Error, whose Msg is that one line.
package httpbound
