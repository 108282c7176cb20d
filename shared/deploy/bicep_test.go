package deploy

// A reader of the Bicep subset infra/ uses: comments, top-level
// declarations (param, var, resource, module, output, targetScope,
// extension, metadata) with their decorators, object and array literals,
// strings with ${} interpolation, and an evaluator of literal expressions
// (strings, numbers, booleans, identifiers of params with literal defaults
// and of literal vars). It is not a Bicep compiler: it reads what the
// tests compare and reports what it cannot read.

import (
	"fmt"
	"regexp"
	"strings"
)

// stripComments removes // and /* */ comments outside strings. Newlines
// are kept, so line numbers stay valid.
func stripComments(src string) string {
	var b strings.Builder
	for i := 0; i < len(src); {
		switch {
		case src[i] == '\'':
			j := skipString(src, i)
			b.WriteString(src[i:j])
			i = j
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 2
			} else {
				end += 2
			}
			for _, c := range src[i : i+2+end] {
				if c == '\n' {
					b.WriteByte('\n')
				}
			}
			i += 2 + end
		default:
			b.WriteByte(src[i])
			i++
		}
	}
	return b.String()
}

// skipString returns the index just after the string literal starting at
// src[i] (single-quoted with backslash escapes and ${} interpolation, or
// triple-quoted), or len(src) when it is not terminated.
func skipString(src string, i int) int {
	if strings.HasPrefix(src[i:], "'''") {
		end := strings.Index(src[i+3:], "'''")
		if end < 0 {
			return len(src)
		}
		return i + 3 + end + 3
	}
	for j := i + 1; j < len(src); {
		switch {
		case src[j] == '\\':
			j += 2
		case src[j] == '\'':
			return j + 1
		case src[j] == '\n':
			return len(src) // single-quoted strings do not span lines
		case strings.HasPrefix(src[j:], "${"):
			j = skipInterpolation(src, j+2)
		default:
			j++
		}
	}
	return len(src)
}

// skipInterpolation returns the index after the } closing an interpolation
// whose expression starts at src[j].
func skipInterpolation(src string, j int) int {
	depth := 1
	for j < len(src) {
		switch src[j] {
		case '\'':
			j = skipString(src, j)
			continue
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
		j++
	}
	return len(src)
}

var closer = map[byte]byte{'{': '}', '[': ']', '(': ')'}

// checkBalanced reports the first unbalanced bracket or unterminated
// string of a comment-free source.
func checkBalanced(src string) error {
	var stack []int
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '\'':
			j := skipString(src, i)
			if j >= len(src) && (j-i < 2 || src[j-1] != '\'') {
				return fmt.Errorf("line %d: unterminated string", lineOf(src, i))
			}
			i = j - 1
		case '{', '[', '(':
			stack = append(stack, i)
		case '}', ']', ')':
			if len(stack) == 0 {
				return fmt.Errorf("line %d: %q closes nothing", lineOf(src, i), c)
			}
			open := stack[len(stack)-1]
			if closer[src[open]] != c {
				return fmt.Errorf("line %d: %q closes %q of line %d", lineOf(src, i), c, src[open], lineOf(src, open))
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		open := stack[len(stack)-1]
		return fmt.Errorf("line %d: %q is never closed", lineOf(src, open), src[open])
	}
	return nil
}

func lineOf(src string, i int) int { return strings.Count(src[:min(i, len(src))], "\n") + 1 }

// matchClose returns the index of the bracket closing src[open], or -1.
func matchClose(src string, open int) int {
	depth := 0
	for i := open; i < len(src); i++ {
		switch src[i] {
		case '\'':
			i = skipString(src, i) - 1
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// endOfItem returns the end of the expression starting at src[i]: the
// first newline, comma or closing bracket at depth 0.
func endOfItem(src string, i int) int {
	for i < len(src) {
		switch src[i] {
		case '\'':
			i = skipString(src, i)
			continue
		case '{', '[', '(':
			j := matchClose(src, i)
			if j < 0 {
				return len(src)
			}
			i = j + 1
			continue
		case '\n', ',', '}', ']', ')':
			return i
		}
		i++
	}
	return i
}

// statement is one top-level declaration.
type statement struct {
	Kind       string // param, var, resource, module, output, targetScope, extension, metadata …
	Name       string // the symbol (param, var, resource, module, output name)
	Type       string // param/output type; resource or module type/path
	Existing   bool   // resource … existing
	Expr       string // what follows '=' (param default, var value, body …)
	Decorators []string
	Line       int
	Text       string
}

var (
	reParam    = regexp.MustCompile(`(?s)^param\s+(\w+)\s+([A-Za-z]\w*(?:\[\])?)\s*(?:=\s*(.*))?$`)
	reVar      = regexp.MustCompile(`(?s)^var\s+(\w+)\s*=\s*(.*)$`)
	reResource = regexp.MustCompile(`(?s)^resource\s+(\w+)\s+'([^']+)'\s*(existing\s*)?=\s*(.*)$`)
	reModule   = regexp.MustCompile(`(?s)^module\s+(\w+)\s+'([^']+)'\s*=\s*(.*)$`)
	reOutput   = regexp.MustCompile(`(?s)^output\s+(\w+)\s+(\w+)\s*=\s*(.*)$`)
	reKeyword  = regexp.MustCompile(`^(\w+)`)
)

// bicepFile is a parsed .bicep file.
type bicepFile struct {
	Path       string
	Raw        string // as written
	Src        string // comments removed
	Statements []*statement
	Params     map[string]*statement
	Vars       map[string]*statement
	Resources  []*statement
	Modules    []*statement
	Outputs    map[string]*statement
	Errors     []error
}

func parseBicep(path, raw string) *bicepFile {
	f := &bicepFile{Path: path, Raw: raw, Src: stripComments(raw),
		Params: map[string]*statement{}, Vars: map[string]*statement{}, Outputs: map[string]*statement{}}
	if err := checkBalanced(f.Src); err != nil {
		f.Errors = append(f.Errors, fmt.Errorf("%s: %v", path, err))
		return f
	}
	src := f.Src
	var decorators []string
	for i := 0; i < len(src); {
		if c := src[i]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			i++
			continue
		}
		start := i
		for i < len(src) && src[i] != '\n' {
			switch src[i] {
			case '\'':
				i = skipString(src, i)
				continue
			case '{', '[', '(':
				j := matchClose(src, i)
				if j < 0 {
					i = len(src)
					continue
				}
				i = j + 1
				continue
			}
			i++
		}
		text := strings.TrimSpace(src[start:i])
		if strings.HasPrefix(text, "@") {
			decorators = append(decorators, text)
			continue
		}
		st := &statement{Text: text, Decorators: decorators, Line: lineOf(src, start)}
		decorators = nil
		if m := reKeyword.FindStringSubmatch(text); m != nil {
			st.Kind = m[1]
		}
		switch st.Kind {
		case "param":
			m := reParam.FindStringSubmatch(text)
			if m == nil {
				f.Errors = append(f.Errors, fmt.Errorf("%s:%d: cannot read param %q", path, st.Line, text))
				continue
			}
			st.Name, st.Type, st.Expr = m[1], m[2], strings.TrimSpace(m[3])
			f.Params[st.Name] = st
		case "var":
			m := reVar.FindStringSubmatch(text)
			if m == nil {
				f.Errors = append(f.Errors, fmt.Errorf("%s:%d: cannot read var %q", path, st.Line, text))
				continue
			}
			st.Name, st.Expr = m[1], strings.TrimSpace(m[2])
			f.Vars[st.Name] = st
		case "resource":
			m := reResource.FindStringSubmatch(text)
			if m == nil {
				f.Errors = append(f.Errors, fmt.Errorf("%s:%d: cannot read resource %q", path, st.Line, firstLine(text)))
				continue
			}
			st.Name, st.Type, st.Existing, st.Expr = m[1], m[2], m[3] != "", strings.TrimSpace(m[4])
			f.Resources = append(f.Resources, st)
		case "module":
			m := reModule.FindStringSubmatch(text)
			if m == nil {
				f.Errors = append(f.Errors, fmt.Errorf("%s:%d: cannot read module %q", path, st.Line, firstLine(text)))
				continue
			}
			st.Name, st.Type, st.Expr = m[1], m[2], strings.TrimSpace(m[3])
			f.Modules = append(f.Modules, st)
		case "output":
			m := reOutput.FindStringSubmatch(text)
			if m == nil {
				f.Errors = append(f.Errors, fmt.Errorf("%s:%d: cannot read output %q", path, st.Line, text))
				continue
			}
			st.Name, st.Type, st.Expr = m[1], m[2], strings.TrimSpace(m[3])
			f.Outputs[st.Name] = st
		case "targetScope", "extension", "metadata", "type", "import", "func":
		default:
			f.Errors = append(f.Errors, fmt.Errorf("%s:%d: unexpected top-level text %q", path, st.Line, firstLine(text)))
			continue
		}
		f.Statements = append(f.Statements, st)
	}
	if len(decorators) > 0 {
		f.Errors = append(f.Errors, fmt.Errorf("%s: decorator %q decorates nothing", path, decorators[0]))
	}
	return f
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// targetScope returns the file's targetScope ('resourceGroup' by default).
func (f *bicepFile) targetScope() string {
	for _, st := range f.Statements {
		if st.Kind == "targetScope" {
			if _, v, ok := strings.Cut(st.Text, "="); ok {
				if s, ok := unquote(strings.TrimSpace(v)); ok {
					return s
				}
			}
		}
	}
	return "resourceGroup"
}

// hasExtension reports whether the file declares `extension name`.
func (f *bicepFile) hasExtension(name string) bool {
	for _, st := range f.Statements {
		if st.Kind == "extension" && strings.TrimSpace(strings.TrimPrefix(st.Text, "extension")) == name {
			return true
		}
	}
	return false
}

// resources returns the resources whose type (without the API version)
// equals typ, case-insensitively.
func (f *bicepFile) resources(typ string) []*statement {
	var out []*statement
	for _, r := range f.Resources {
		t, _, _ := strings.Cut(r.Type, "@")
		if strings.EqualFold(t, typ) {
			out = append(out, r)
		}
	}
	return out
}

// body returns the object literal of a resource or module declaration:
// the first { outside parentheses (after `if (…)` or `[for … :`).
func (st *statement) body() (*object, error) {
	expr := st.Expr
	paren := 0
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '\'':
			i = skipString(expr, i) - 1
		case '(':
			paren++
		case ')':
			paren--
		case '{':
			if paren == 0 {
				return parseObject(expr, i)
			}
		}
	}
	return nil, fmt.Errorf("line %d: %s %s has no body", st.Line, st.Kind, st.Name)
}

// condition returns the `if (…)` condition of a declaration, or "".
func (st *statement) condition() string {
	expr := strings.TrimSpace(st.Expr)
	if !strings.HasPrefix(expr, "if") {
		return ""
	}
	open := strings.IndexByte(expr, '(')
	if open < 0 {
		return ""
	}
	end := matchClose(expr, open)
	if end < 0 {
		return ""
	}
	return strings.TrimSpace(expr[open+1 : end])
}

// isLoop reports whether the declaration is a [for …] loop, and returns
// the text between `for` and `:`.
func (st *statement) loop() (string, bool) {
	expr := strings.TrimSpace(st.Expr)
	if !strings.HasPrefix(expr, "[") {
		return "", false
	}
	inner := strings.TrimSpace(expr[1:])
	if !strings.HasPrefix(inner, "for ") {
		return "", false
	}
	head, _, ok := strings.Cut(inner[4:], ":")
	return strings.TrimSpace(head), ok
}

// object is an object literal: its keys in order, each with its value's
// text and, when the value is itself an object literal, that object.
type object struct {
	Keys []string
	Vals map[string]string
	Objs map[string]*object
}

func (o *object) get(key string) (string, bool) {
	if o == nil {
		return "", false
	}
	v, ok := o.Vals[key]
	return v, ok
}

// path follows nested object keys.
func (o *object) path(keys ...string) *object {
	for _, k := range keys {
		if o == nil {
			return nil
		}
		o = o.Objs[k]
	}
	return o
}

var reKey = regexp.MustCompile(`^[A-Za-z_]\w*`)

// parseObject parses the object literal whose { is at src[open].
func parseObject(src string, open int) (*object, error) {
	end := matchClose(src, open)
	if end < 0 {
		return nil, fmt.Errorf("line %d: unclosed {", lineOf(src, open))
	}
	o := &object{Vals: map[string]string{}, Objs: map[string]*object{}}
	for i := open + 1; i < end; {
		c := src[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' {
			i++
			continue
		}
		var key string
		switch {
		case c == '\'':
			j := skipString(src, i)
			k, ok := unquote(src[i:j])
			if !ok {
				k = src[i:j] // an interpolated key, kept as written
			}
			key, i = k, j
		default:
			m := reKey.FindString(src[i:end])
			if m == "" {
				return nil, fmt.Errorf("line %d: expected a property name, got %q", lineOf(src, i), firstLine(src[i:end]))
			}
			key, i = m, i+len(m)
		}
		for i < end && (src[i] == ' ' || src[i] == '\t') {
			i++
		}
		if i >= end || src[i] != ':' {
			return nil, fmt.Errorf("line %d: expected ':' after %q", lineOf(src, i), key)
		}
		i++
		for i < end && (src[i] == ' ' || src[i] == '\t') {
			i++
		}
		j := endOfItem(src, i)
		if j > end {
			j = end
		}
		val := strings.TrimSpace(src[i:j])
		if _, dup := o.Vals[key]; dup {
			return nil, fmt.Errorf("line %d: property %q twice", lineOf(src, i), key)
		}
		o.Keys = append(o.Keys, key)
		o.Vals[key] = val
		if strings.HasPrefix(val, "{") && matchClose(val, 0) == len(val)-1 {
			sub, err := parseObject(val, 0)
			if err != nil {
				return nil, err
			}
			o.Objs[key] = sub
		}
		i = j
	}
	return o, nil
}

// parseArray returns the item texts of the array literal whose [ is at
// src[open].
func parseArray(src string, open int) ([]string, error) {
	end := matchClose(src, open)
	if end < 0 {
		return nil, fmt.Errorf("line %d: unclosed [", lineOf(src, open))
	}
	var items []string
	for i := open + 1; i < end; {
		c := src[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' {
			i++
			continue
		}
		j := endOfItem(src, i)
		if j > end || j == i {
			j = end
		}
		items = append(items, strings.TrimSpace(src[i:j]))
		i = j
	}
	return items, nil
}

// unquote returns the value of a string literal without interpolation.
func unquote(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' || skipString(lit, 0) != len(lit) {
		return "", false
	}
	return interpolate(lit, func(string) (string, bool) { return "", false })
}

var reIdent = regexp.MustCompile(`^[A-Za-z_]\w*$`)

// eval returns the value of a literal expression: a string (its
// interpolations evaluated too), a number, a boolean, or an identifier of a
// param with such a default or of such a var. ok is false for anything
// else (function calls, module outputs, conditions …).
func (f *bicepFile) eval(expr string) (string, bool) {
	return f.evalDepth(strings.TrimSpace(expr), 0)
}

var reNumber = regexp.MustCompile(`^-?\d+$`)

func (f *bicepFile) evalDepth(expr string, depth int) (string, bool) {
	if depth > 20 {
		return "", false
	}
	switch {
	case expr == "true" || expr == "false" || reNumber.MatchString(expr):
		return expr, true
	case reIdent.MatchString(expr):
		if p, ok := f.Params[expr]; ok && p.Expr != "" {
			return f.evalDepth(p.Expr, depth+1)
		}
		if v, ok := f.Vars[expr]; ok {
			return f.evalDepth(v.Expr, depth+1)
		}
		return "", false
	case strings.HasPrefix(expr, "'") && skipString(expr, 0) == len(expr):
		if s, ok := unquote(expr); ok {
			return s, true
		}
		return interpolate(expr, func(inner string) (string, bool) { return f.evalDepth(inner, depth+1) })
	}
	return "", false
}

// interpolate evaluates a string literal: escapes decoded, each ${} part
// through part (a multi-line literal is taken verbatim, as Bicep does).
func interpolate(lit string, part func(string) (string, bool)) (string, bool) {
	if strings.HasPrefix(lit, "'''") {
		return lit[3 : len(lit)-3], true
	}
	var b strings.Builder
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		switch {
		case body[i] == '\\' && i+1 < len(body):
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(body[i])
			}
		case strings.HasPrefix(body[i:], "${"):
			end := skipInterpolation(body, i+2)
			v, ok := part(strings.TrimSpace(body[i+2 : end-1]))
			if !ok {
				return "", false
			}
			b.WriteString(v)
			i = end - 1
		default:
			b.WriteByte(body[i])
		}
	}
	return b.String(), true
}

// evalArray evaluates an array literal whose items are literal expressions.
func (f *bicepFile) evalArray(expr string) ([]string, error) {
	expr = strings.TrimSpace(expr)
	if reIdent.MatchString(expr) {
		if v, ok := f.Vars[expr]; ok {
			return f.evalArray(v.Expr)
		}
		return nil, fmt.Errorf("%s: %s is not an array var", f.Path, expr)
	}
	if !strings.HasPrefix(expr, "[") {
		return nil, fmt.Errorf("%s: %q is not an array literal", f.Path, firstLine(expr))
	}
	items, err := parseArray(expr, 0)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		v, ok := f.eval(it)
		if !ok {
			return nil, fmt.Errorf("%s: array item %q is not a literal", f.Path, it)
		}
		out = append(out, v)
	}
	return out, nil
}

// varObject parses the object literal a var holds.
func (f *bicepFile) varObject(name string) (*object, error) {
	v, ok := f.Vars[name]
	if !ok {
		return nil, fmt.Errorf("%s: no var %s", f.Path, name)
	}
	expr := strings.TrimSpace(v.Expr)
	if !strings.HasPrefix(expr, "{") {
		return nil, fmt.Errorf("%s: var %s is not an object literal", f.Path, name)
	}
	return parseObject(expr, 0)
}

// module returns the module declaration whose path ends with suffix.
func (f *bicepFile) module(suffix string) *statement {
	for _, m := range f.Modules {
		if strings.HasSuffix(m.Type, suffix) {
			return m
		}
	}
	return nil
}

// moduleParams returns the params object of a module declaration.
func (st *statement) moduleParams() (*object, error) {
	b, err := st.body()
	if err != nil {
		return nil, err
	}
	p := b.Objs["params"]
	if p == nil {
		return &object{Vals: map[string]string{}, Objs: map[string]*object{}}, nil
	}
	return p, nil
}

// usesWord reports whether name occurs as a whole word in src outside the
// statement that declares it, not as a property key (`name: …` at the
// start of a line), a property access (`x.name`) or inside a plain string.
func (f *bicepFile) usesWord(name string, decl *statement) bool {
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`)
	for _, st := range f.Statements {
		if st == decl {
			continue
		}
		for _, m := range re.FindAllStringIndex(st.Text, -1) {
			before, after := st.Text[:m[0]], st.Text[m[1]:]
			if strings.HasSuffix(before, ".") || strings.HasSuffix(before, "'") && strings.HasPrefix(after, "'") {
				continue
			}
			lineStart := strings.LastIndexByte(before, '\n') + 1
			if strings.TrimSpace(before[lineStart:]) == "" && strings.HasPrefix(strings.TrimLeft(after, " \t"), ":") {
				continue // a property key
			}
			return true
		}
	}
	return false
}
