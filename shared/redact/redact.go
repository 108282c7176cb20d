// Package redact keeps secrets out of what tenantwatch logs, returns and
// posts. It is the one place that knows what a secret looks like in text:
// every adapter (Table and Blob Storage, Graph, Resource Manager, the Teams
// webhook, the app's own notification URL) passes the errors it returns
// through it, the custom handler redacts what it puts in an invocation
// result, and the loggers of the commands (serve, host, demo, scan, doctor,
// sim) and of the host stand-in write through Handler as a last line of
// defence.
//
// The rules:
//
//   - A URL keeps its scheme, host (with port) and path; its user
//     information, query and fragment are dropped. SAS signatures (sig=),
//     function keys (code=), Workflows signatures and delta tokens all live
//     in the query.
//   - In text, every URL (scheme://…) is cut that way (punctuation that
//     ends a query in prose is kept), and the value of every secret
//     parameter is replaced by [redacted]: AccountKey= and
//     SharedAccessSignature= (connection strings, up to the next ';'); sig=,
//     code=, clientState=, client_secret=, password=, access_token= and
//     refresh_token= (query style, up to the next '&' or ';'); the quoted or
//     bare value after "clientState": (JSON, also inside a JSON string, and
//     Go's %+v) and the other names above except sig and code, which are
//     also Graph's and Azure's words for error codes; and the token after
//     "Bearer ".
//   - Values also replaces secrets an adapter knows by value (the webhook
//     URL, the token it sent), for servers that quote them without a name.
//   - An error keeps its chain: Error(err) prints the redacted message and
//     unwraps to err, so errors.Is and errors.As still find the sentinels
//     and typed causes callers branch on (a *azcore.ResponseError, a
//     *url.Error). Their own messages are not redacted: take a cause out
//     with errors.As to decide, never to print it — print the error you
//     were given. Handler catches a cause that is logged anyway.
//
// Text is idempotent and fuzzed (FuzzText): whatever surrounds a planted
// secret in one of the forms above, it does not come out.
//
// The package imports only the standard library.
package redact

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mark replaces a secret value.
const Mark = "[redacted]"

// URL returns raw without user information, query and fragment: scheme,
// host and path only. A string that is not a URL with a scheme loses what
// follows its first '?' or '#'. When the user information and the query
// cannot be told apart (an '@' and a '?' before the first '/'), only the
// scheme is kept.
func URL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return cutQuery(raw)
	}
	scheme, rest := raw[:i], raw[i+3:]
	authEnd := strings.IndexByte(rest, '/')
	if authEnd < 0 {
		authEnd = len(rest)
	}
	auth, path := rest[:authEnd], rest[authEnd:]
	at := strings.LastIndexByte(auth, '@')
	if strings.ContainsAny(auth, "?#") {
		if at >= 0 {
			return scheme + "://" + Mark
		}
		// The query starts before any '/': there is no path.
		return scheme + "://" + cutQuery(auth)
	}
	if at >= 0 {
		auth = auth[at+1:]
	}
	return scheme + "://" + auth + cutQuery(path)
}

// urlInText redacts a URL found in text. Punctuation that ends its query
// ("…?sig=x)." in prose) is kept: secrets are base64 or hex.
func urlInText(u string) string {
	q := strings.IndexAny(u, "?#")
	if q < 0 {
		return URL(u)
	}
	kept := strings.TrimRight(u[q:], ")]},;.!")
	return URL(u[:q]+kept) + u[q+len(kept):]
}

func cutQuery(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i]
	}
	return s
}

var (
	// urlPattern finds URLs in text: a scheme, "://" and everything up to
	// white space, a quote, an angle bracket or a backslash (which a URL
	// never holds unescaped: they end a quoted or JSON-escaped URL); once
	// the query or fragment has begun, angle brackets no longer end it.
	urlPattern = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>`\\\\?#]*(?:[?#][^\\s\"'`\\\\]*)?")

	// connPattern: connection-string secrets, whose values run to the next
	// ';' (a SAS holds '&').
	connPattern = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_])(AccountKey|SharedAccessSignature)(\s*=\s*)[^;\s"'<>\\]+`)

	// paramPattern: query-style secrets, whose values run to the next '&'
	// or ';' and start right after the '=' ("has no sig= parameter" is
	// prose).
	paramPattern = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_])(sig|code|clientState|client_secret|password|access_token|refresh_token)([ \t]*=)[^&;\s"'<>\\]+`)

	// fieldPattern: secrets written as "name": "value" (JSON) or name:value
	// (Go's %+v, YAML-like text). Not sig and code: "code" is also Graph's
	// and Azure's error code.
	fieldPattern = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_])("?)(clientState|AccountKey|SharedAccessSignature|client_secret|password|access_token|refresh_token)(\\?"?\s*:\s*)(\\"(?:[^"\\]|\\[^"])*(?:\\")?|"(?:[^"\\]|\\.)*"?|[^\s,;}"'&]+)`)

	// bearerPattern: an OAuth bearer token (16 characters at least, so that
	// prose such as "a bearer token for" is left alone).
	bearerPattern = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_])(bearer)(\s+)[A-Za-z0-9\-._~+/=]{16,}`)
)

// Text returns s with every URL cut to scheme, host and path (URL) and
// every secret value the package knows by name replaced by Mark (see the
// package comment). Text is idempotent.
func Text(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "://") {
		s = urlPattern.ReplaceAllStringFunc(s, urlInText)
	}
	// The patterns have no literal prefix, which makes them slow: run each
	// only on text that holds one of its names.
	lower := strings.ToLower(s)
	if containsAny(lower, "accountkey", "sharedaccesssignature") && strings.Contains(s, "=") {
		s = connPattern.ReplaceAllString(s, "${1}${2}${3}"+Mark)
	}
	if containsAny(lower, paramNames...) && strings.Contains(s, "=") {
		s = paramPattern.ReplaceAllString(s, "${1}${2}${3}"+Mark)
	}
	if containsAny(lower, fieldNames...) && strings.Contains(s, ":") {
		s = fieldPattern.ReplaceAllStringFunc(s, func(m string) string {
			sub := fieldPattern.FindStringSubmatch(m)
			value := Mark
			switch {
			case strings.HasPrefix(sub[5], `\"`): // JSON inside a JSON string
				value = `\"` + Mark + `\"`
			case strings.HasPrefix(sub[5], `"`):
				value = `"` + Mark + `"`
			}
			return sub[1] + sub[2] + sub[3] + sub[4] + value
		})
	}
	if strings.Contains(lower, "bearer") {
		s = bearerPattern.ReplaceAllString(s, "${1}${2}${3}"+Mark)
	}
	return s
}

// The names of paramPattern and fieldPattern, in lower case.
var (
	paramNames = []string{"sig", "code", "clientstate", "client_secret", "password", "access_token", "refresh_token"}
	fieldNames = []string{"clientstate", "accountkey", "sharedaccesssignature", "client_secret", "password", "access_token", "refresh_token"}
)

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// minSecret is the shortest value Values replaces: shorter ones would
// clobber ordinary words.
const minSecret = 8

// Values returns Text(s) after replacing every occurrence of each secret
// (as given, and query- and path-escaped) by Mark. It is for the values an
// adapter knows are secret (the webhook URL and its sig=, a token it sent)
// in text a server wrote, which may quote them without a name. Secrets
// shorter than 8 bytes are ignored; longer ones are replaced first, so that
// a whole URL goes before its parts.
func Values(s string, secrets ...string) string {
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		if len(sec) < minSecret {
			continue
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
			s = strings.ReplaceAll(s, form, Mark)
		}
	}
	return Text(s)
}

// redacted is an error printed through Text that unwraps to its cause.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// Error returns nil for nil, and otherwise an error whose message is
// Values(err.Error(), secrets...) (Text when no secrets are given) and which
// unwraps to err: errors.Is and errors.As see everything err's chain holds.
// Redacting an error Error returned, without further secrets, returns it
// unchanged.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if r, ok := err.(*redacted); ok && len(secrets) == 0 {
		return r
	}
	return &redacted{msg: Values(err.Error(), secrets...), err: err}
}
