package graphsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file is a small, real parser for the OData $filter subset the
// simulated endpoints accept:
//
//	filter     = clause *( "and" clause )
//	clause     = "(" filter ")" / comparison
//	comparison = property SP operator SP literal
//	           / property SP "in" SP "(" literal *( "," literal ) ")"
//	property   = identifier *( "/" identifier )       ; e.g. status/errorCode
//	operator   = "eq" / "ne" / "gt" / "ge" / "lt" / "le"
//	literal    = 'string' ('' escapes a quote) / DateTimeOffset (unquoted,
//	             optional fraction and offset, or a plain date) / integer /
//	             true / false / null / GUID
//
// Parsing is independent of the endpoint; validate then checks each
// comparison against what the endpoint supports (filterSpec). Anything the
// simulator does not model (or, not, any, functions such as startswith) is
// rejected with 400 rather than silently ignored.

type litKind int

const (
	litString litKind = iota + 1
	litDateTime
	litInt
	litBool
	litNull
	litGUID
)

type literal struct {
	kind litKind
	raw  string // as written (for String and error messages)
	str  string // litString, litGUID
	t    time.Time
	n    int64
	b    bool
}

type comparison struct {
	prop string // as written; canonicalised by validate
	op   string // lower-case
	lit  literal
	list []literal // op "in": the values (lit is unused)
}

// maxInValues is Graph's documented default limit for the in operator:
// "When using the in operator, the request is limited to 15 expressions in
// the filter clause by default" (microsoft-graph-docs-contrib
// concepts/known-issues: query parameters).
const maxInValues = 15

// filterExpr is a conjunction of comparisons (nested parentheses are
// flattened: "and" is associative).
type filterExpr struct {
	terms []comparison
}

// String renders the expression canonically; parsing the result yields
// the same expression (FuzzFilter checks this).
func (f filterExpr) String() string {
	parts := make([]string, len(f.terms))
	for i, c := range f.terms {
		if c.op == "in" {
			vals := make([]string, len(c.list))
			for k, l := range c.list {
				vals[k] = l.raw
			}
			parts[i] = c.prop + " in (" + strings.Join(vals, ",") + ")"
			continue
		}
		parts[i] = c.prop + " " + c.op + " " + c.lit.raw
	}
	return strings.Join(parts, " and ")
}

// filterError is a $filter the simulator refuses; code and message follow
// Graph's error body.
type filterError struct {
	code, msg string
}

func (e *filterError) Error() string { return e.msg }

func syntaxErr(format string, a ...any) error {
	return &filterError{code: "BadRequest", msg: "Invalid filter clause: " + fmt.Sprintf(format, a...)}
}

type tokKind int

const (
	tkEOF tokKind = iota
	tkIdent
	tkString
	tkBare // unquoted literal: date, number, GUID
	tkLParen
	tkRParen
	tkComma
)

type token struct {
	kind tokKind
	text string // identifiers and bare literals as written; strings unescaped
	raw  string // as written in the input
	pos  int
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	i := 0
	inList := false // inside "in (" … ")", where commas separate values
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			if n := len(toks); n > 0 && toks[n-1].kind == tkIdent && strings.EqualFold(toks[n-1].text, "in") {
				inList = true
			}
			toks = append(toks, token{kind: tkLParen, text: "(", raw: "(", pos: i})
			i++
		case c == ')':
			inList = false
			toks = append(toks, token{kind: tkRParen, text: ")", raw: ")", pos: i})
			i++
		case c == ',' && inList:
			toks = append(toks, token{kind: tkComma, text: ",", raw: ",", pos: i})
			i++
		case c == '\'':
			start := i
			var sb strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						sb.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				sb.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, syntaxErr("unterminated string literal at position %d", start)
			}
			toks = append(toks, token{kind: tkString, text: sb.String(), raw: s[start:i], pos: start})
		case isIdentStart(c):
			start := i
			for i < len(s) && (isIdentStart(s[i]) || isDigit(s[i]) || s[i] == '/' || s[i] == '.') {
				i++
			}
			toks = append(toks, token{kind: tkIdent, text: s[start:i], raw: s[start:i], pos: start})
		case isDigit(c) || c == '-' || c == '+':
			start := i
			for i < len(s) && isBareChar(s[i]) {
				i++
			}
			toks = append(toks, token{kind: tkBare, text: s[start:i], raw: s[start:i], pos: start})
		default:
			return nil, syntaxErr("unexpected character %q at position %d", c, i)
		}
	}
	return append(toks, token{kind: tkEOF, pos: len(s)}), nil
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isBareChar(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') ||
		c == '-' || c == '+' || c == ':' || c == '.'
}

type filterParser struct {
	toks []token
	i    int
}

func (p *filterParser) peek() token { return p.toks[p.i] }

func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

// maxFilterDepth bounds parenthesis nesting (and recursion).
const maxFilterDepth = 32

// parseFilter parses a $filter value. An empty or blank filter is an error
// (the caller only parses when $filter is present).
func parseFilter(s string) (filterExpr, error) {
	if len(s) > 4096 {
		return filterExpr{}, syntaxErr("filter longer than 4096 characters")
	}
	toks, err := lexFilter(s)
	if err != nil {
		return filterExpr{}, err
	}
	p := &filterParser{toks: toks}
	var f filterExpr
	if err := p.conjunction(&f, 0); err != nil {
		return filterExpr{}, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return filterExpr{}, syntaxErr("unexpected %q at position %d", t.raw, t.pos)
	}
	return f, nil
}

func (p *filterParser) conjunction(f *filterExpr, depth int) error {
	if err := p.clause(f, depth); err != nil {
		return err
	}
	for {
		t := p.peek()
		if t.kind != tkIdent {
			return nil
		}
		switch strings.ToLower(t.text) {
		case "and":
			p.next()
			if err := p.clause(f, depth); err != nil {
				return err
			}
		case "or", "not":
			return syntaxErr("graphsim does not simulate %q (only 'and' of comparisons)", t.text)
		default:
			return syntaxErr("expected 'and' at position %d, found %q", t.pos, t.raw)
		}
	}
}

func (p *filterParser) clause(f *filterExpr, depth int) error {
	t := p.next()
	switch t.kind {
	case tkLParen:
		if depth >= maxFilterDepth {
			return syntaxErr("parentheses nested deeper than %d", maxFilterDepth)
		}
		if err := p.conjunction(f, depth+1); err != nil {
			return err
		}
		if c := p.next(); c.kind != tkRParen {
			return syntaxErr("expected ')' at position %d", c.pos)
		}
		return nil
	case tkIdent:
		switch strings.ToLower(t.text) {
		case "not", "and", "or":
			return syntaxErr("graphsim does not simulate %q here (only 'and' of comparisons)", t.text)
		}
		if n := p.peek(); n.kind == tkLParen {
			return syntaxErr("graphsim does not simulate the function %s()", t.text)
		}
		if strings.Contains(t.text, "..") || strings.HasSuffix(t.text, "/") || strings.Contains(t.text, "//") {
			return syntaxErr("malformed property path %q", t.text)
		}
		opTok := p.next()
		if opTok.kind != tkIdent {
			return syntaxErr("expected an operator after %q", t.text)
		}
		op := strings.ToLower(opTok.text)
		switch op {
		case "eq", "ne", "gt", "ge", "lt", "le":
		case "in":
			list, err := p.literalList()
			if err != nil {
				return err
			}
			f.terms = append(f.terms, comparison{prop: t.text, op: op, list: list})
			if len(f.terms) > 64 {
				return syntaxErr("more than 64 comparisons")
			}
			return nil
		case "has", "add", "sub", "mul", "div", "mod":
			return syntaxErr("graphsim does not simulate the operator %q", opTok.text)
		default:
			return syntaxErr("unknown operator %q at position %d", opTok.text, opTok.pos)
		}
		lit, err := p.literal()
		if err != nil {
			return err
		}
		f.terms = append(f.terms, comparison{prop: t.text, op: op, lit: lit})
		if len(f.terms) > 64 {
			return syntaxErr("more than 64 comparisons")
		}
		return nil
	case tkEOF:
		return syntaxErr("unexpected end of filter")
	default:
		return syntaxErr("expected a property at position %d, found %q", t.pos, t.raw)
	}
}

// literalList parses "(" literal *( "," literal ) ")" after "in".
func (p *filterParser) literalList() ([]literal, error) {
	if t := p.next(); t.kind != tkLParen {
		return nil, syntaxErr("expected '(' after 'in' at position %d", t.pos)
	}
	var out []literal
	for {
		l, err := p.literal()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		if len(out) > 64 {
			return nil, syntaxErr("more than 64 values in an 'in' list")
		}
		switch t := p.next(); t.kind {
		case tkComma:
			continue
		case tkRParen:
			return out, nil
		default:
			return nil, syntaxErr("expected ',' or ')' at position %d", t.pos)
		}
	}
}

func (p *filterParser) literal() (literal, error) {
	t := p.next()
	switch t.kind {
	case tkString:
		return literal{kind: litString, raw: quoteODataString(t.text), str: t.text}, nil
	case tkIdent:
		switch strings.ToLower(t.text) {
		case "true":
			return literal{kind: litBool, raw: "true", b: true}, nil
		case "false":
			return literal{kind: litBool, raw: "false"}, nil
		case "null":
			return literal{kind: litNull, raw: "null"}, nil
		}
		if isGUID(t.text) { // a GUID may start with a letter
			return literal{kind: litGUID, raw: strings.ToLower(t.text), str: strings.ToLower(t.text)}, nil
		}
		return literal{}, syntaxErr("expected a literal at position %d, found %q", t.pos, t.raw)
	case tkBare:
		return parseBare(t)
	case tkEOF:
		return literal{}, syntaxErr("unexpected end of filter: missing literal")
	default:
		return literal{}, syntaxErr("expected a literal at position %d, found %q", t.pos, t.raw)
	}
}

func quoteODataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func parseBare(t token) (literal, error) {
	s := t.text
	if isGUID(s) {
		return literal{kind: litGUID, raw: strings.ToLower(s), str: strings.ToLower(s)}, nil
	}
	if strings.ContainsAny(s, "T:") || (len(s) == 10 && s[4] == '-' && s[7] == '-') {
		tm, err := parseDateTimeOffset(s)
		if err != nil {
			return literal{}, syntaxErr("invalid DateTimeOffset %q at position %d", s, t.pos)
		}
		return literal{kind: litDateTime, raw: tm.Format(time.RFC3339Nano), t: tm}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return literal{}, syntaxErr("invalid literal %q at position %d", s, t.pos)
	}
	return literal{kind: litInt, raw: strconv.FormatInt(n, 10), n: n}, nil
}

// parseDateTimeOffset accepts OData DateTimeOffset literals as Graph does:
// 2026-10-27T15:04:05Z, with optional fractional seconds (up to 9 digits),
// a numeric offset instead of Z, minutes-only precision, or a plain date
// (midnight UTC).
func parseDateTimeOffset(s string) (time.Time, error) {
	layouts := []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a DateTimeOffset")
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// fieldKind says how a filterable property compares.
type fieldKind int

const (
	fieldDateTime fieldKind = iota + 1 // eq ne gt ge lt le with a DateTimeOffset
	fieldString                        // eq with a string (or GUID) literal, case-insensitive
	fieldInt                           // eq with an integer
	fieldBool                          // eq with true/false
	fieldStringIn                      // fieldString, and in with up to maxInValues strings
)

// filterSpec lists the properties an endpoint accepts in $filter, keyed by
// lower-cased path, with their canonical spelling.
type filterSpec struct {
	resource string // for error messages, e.g. "directoryAudit"
	fields   map[string]filterField
}

type filterField struct {
	path string
	kind fieldKind
}

func newFilterSpec(resource string, fields ...filterField) *filterSpec {
	m := make(map[string]filterField, len(fields))
	for _, f := range fields {
		m[strings.ToLower(f.path)] = f
	}
	return &filterSpec{resource: resource, fields: m}
}

// validate checks every comparison against spec and canonicalises property
// names.
func (f *filterExpr) validate(spec *filterSpec) error {
	for i := range f.terms {
		c := &f.terms[i]
		unsupported := &filterError{
			code: "Request_UnsupportedQuery",
			msg:  fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", c.prop, spec.resource),
		}
		fd, ok := spec.fields[strings.ToLower(c.prop)]
		if !ok {
			return unsupported
		}
		c.prop = fd.path
		if c.op == "in" {
			if fd.kind != fieldStringIn {
				return unsupported
			}
			if len(c.list) > maxInValues {
				return &filterError{code: "Request_UnsupportedQuery",
					msg: fmt.Sprintf("graphsim: the in operator takes at most %d values here (Graph's documented default limit); got %d.", maxInValues, len(c.list))}
			}
			for _, l := range c.list {
				if l.kind != litString && l.kind != litGUID {
					return unsupported
				}
			}
			continue
		}
		switch fd.kind {
		case fieldDateTime:
			if c.lit.kind != litDateTime {
				return unsupported
			}
		case fieldString, fieldStringIn:
			if c.op != "eq" || (c.lit.kind != litString && c.lit.kind != litGUID) {
				return unsupported
			}
		case fieldInt:
			if c.op != "eq" || c.lit.kind != litInt {
				return unsupported
			}
		case fieldBool:
			if c.op != "eq" || c.lit.kind != litBool {
				return unsupported
			}
		}
	}
	return nil
}

// fieldGetter returns a record's value at a property path.
type fieldGetter func(path string) (any, bool)

// match evaluates a validated expression. Missing or mistyped values do
// not match.
func (f *filterExpr) match(get fieldGetter) bool {
	for _, c := range f.terms {
		if !c.match(get) {
			return false
		}
	}
	return true
}

func (c comparison) match(get fieldGetter) bool {
	v, ok := get(c.prop)
	if !ok {
		return false
	}
	if c.op == "in" {
		s, ok := v.(string)
		if !ok {
			return false
		}
		for _, l := range c.list {
			if strings.EqualFold(s, l.str) {
				return true
			}
		}
		return false
	}
	switch c.lit.kind {
	case litDateTime:
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			var err error
			if t, err = time.Parse(time.RFC3339Nano, x); err != nil {
				return false
			}
		default:
			return false
		}
		cmp := t.Compare(c.lit.t)
		switch c.op {
		case "eq":
			return cmp == 0
		case "ne":
			return cmp != 0
		case "gt":
			return cmp > 0
		case "ge":
			return cmp >= 0
		case "lt":
			return cmp < 0
		case "le":
			return cmp <= 0
		}
	case litString, litGUID:
		s, ok := v.(string)
		return ok && strings.EqualFold(s, c.lit.str)
	case litInt:
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		case interface{ String() string }: // json.Number
			var err error
			if n, err = strconv.ParseInt(x.String(), 10, 64); err != nil {
				return false
			}
		default:
			return false
		}
		return n == c.lit.n
	case litBool:
		b, ok := v.(bool)
		return ok && b == c.lit.b
	}
	return false
}

// onlyIDs returns the ids a filter of one "id eq" or "id in" comparison
// names (lower-cased, without repeats, in the order written), or false for
// any other filter.
func (f *filterExpr) onlyIDs() ([]string, bool) {
	if len(f.terms) != 1 || !strings.EqualFold(f.terms[0].prop, "id") {
		return nil, false
	}
	c := f.terms[0]
	lits := c.list
	switch c.op {
	case "in":
	case "eq":
		lits = []literal{c.lit}
	default:
		return nil, false
	}
	var out []string
	seen := map[string]bool{}
	for _, l := range lits {
		if l.kind != litString && l.kind != litGUID {
			return nil, false
		}
		id := strings.ToLower(l.str)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, true
}

// lowerBound returns the latest instant that "prop ge/gt T" clauses on the
// given time property require (zero if none). Sources ordered newest first
// use it to stop scanning early.
func (f *filterExpr) lowerBound(prop string) time.Time {
	var lb time.Time
	for _, c := range f.terms {
		if c.lit.kind == litDateTime && strings.EqualFold(c.prop, prop) && (c.op == "ge" || c.op == "gt" || c.op == "eq") {
			if c.lit.t.After(lb) {
				lb = c.lit.t
			}
		}
	}
	return lb
}
