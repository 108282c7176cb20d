package deploy

// infra/ checked against Azure's own type definitions: the files the Bicep
// compiler checks resource declarations against (Azure/bicep-types-az, and
// the Microsoft Graph extension's), copied in testdata/azure-types. The
// check walks every resource body by its type: the resource type and API
// version exist; every property set exists; literal values have the
// property's kind, and strings set on enums are among its values (also
// what a param's @allowed or a module's callers can pass); no read-only
// property is set; required properties are present; an existing resource
// sets only its name (or the extension's identifiers) and scope.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// azureTypesDir holds the type files: <folder>/<namespace>@<version>.json.
const azureTypesDir = "testdata/azure-types"

// untypedResources are the resource types no type file defines, each with
// the reason it is declared anyway. The check skips their bodies, and
// fails when an exception is no longer needed.
var untypedResources = map[string]string{
	"Microsoft.Web/sites/host/functionKeys": "no API version of it has Bicep type definitions (Azure/bicep-types-az#1356): " +
		"Bicep compiles it with warning BCP081 and ARM accepts it; checkNotificationKey checks its body",
}

// bicepKeys are resource body keys that are Bicep's own, not properties of
// the resource type.
var bicepKeys = map[string]string{
	"parent":    "the parent of a child resource (whose type is Parent/child)",
	"scope":     "the scope of an extension resource (role assignments on a vault, a component, the account)",
	"dependsOn": "explicit deployment order",
}

// Property flags (ObjectTypePropertyFlags of Azure/bicep-types).
const (
	flagRequired   = 1
	flagReadOnly   = 2
	flagIdentifier = 16
)

// Scopes (ScopeType of Azure/bicep-types).
var scopeNames = []struct {
	bit  int
	name string
}{{1, "tenant"}, {2, "managementGroup"}, {4, "subscription"}, {8, "resourceGroup"}, {16, "extension"}}

type typeRef struct {
	Ref string `json:"$ref"`
}

type typeProp struct {
	Type  typeRef `json:"type"`
	Flags int     `json:"flags"`
}

// azType is one entry of a type file; which fields are set depends on $type.
type azType struct {
	Kind                 string              `json:"$type"`
	Name                 string              `json:"name"`
	Value                string              `json:"value"` // StringLiteralType
	RawElements          json.RawMessage     `json:"elements"`
	Properties           map[string]typeProp `json:"properties"`
	AdditionalProperties *typeRef            `json:"additionalProperties"`
	ItemType             *typeRef            `json:"itemType"`
	Body                 *typeRef            `json:"body"`
	Discriminator        string              `json:"discriminator"`
	BaseProperties       map[string]typeProp `json:"baseProperties"`
	Flags                int                 `json:"flags"`          // ResourceType (Graph): 1 read-only
	ReadableScopes       *int                `json:"readableScopes"` // ResourceType (ARM)
	WritableScopes       *int                `json:"writableScopes"`
	MinValue             *int64              `json:"minValue"` // IntegerType
	MaxValue             *int64              `json:"maxValue"`
	MinLength            *int                `json:"minLength"` // StringType
	MaxLength            *int                `json:"maxLength"`
	Pattern              string              `json:"pattern"`

	Elements []typeRef          `json:"-"` // UnionType
	Variants map[string]typeRef `json:"-"` // DiscriminatedObjectType
}

type typeFile struct {
	Path  string
	Types []*azType
}

// typeNode is a type and the file its references are relative to.
type typeNode struct {
	file *typeFile
	t    *azType
}

func (n typeNode) deref(r typeRef) (typeNode, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(r.Ref, "#/"))
	if err != nil || !strings.HasPrefix(r.Ref, "#/") || i < 0 || i >= len(n.file.Types) {
		return typeNode{}, fmt.Errorf("%s: bad type reference %q", n.file.Path, r.Ref)
	}
	return typeNode{n.file, n.file.Types[i]}, nil
}

// azureTypeIndex is every resource type of the type files.
type azureTypeIndex struct {
	Resources map[string]typeNode  // lower-case Namespace/type@version → its ResourceType
	Versions  map[string][]string  // lower-case Namespace/type → typed API versions
	Names     map[string]string    // lower-case Namespace/type[@version] → as the file spells it
	Files     map[string]*typeFile // path under azureTypesDir
}

var (
	typesOnce sync.Once
	typesIdx  *azureTypeIndex
	typesErr  error
)

// loadAzureTypes reads azureTypesDir once.
func loadAzureTypes() (*azureTypeIndex, error) {
	typesOnce.Do(func() { typesIdx, typesErr = readAzureTypes(azureTypesDir) })
	return typesIdx, typesErr
}

func readAzureTypes(dir string) (*azureTypeIndex, error) {
	idx := &azureTypeIndex{Resources: map[string]typeNode{}, Versions: map[string][]string{}, Names: map[string]string{}, Files: map[string]*typeFile{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f := &typeFile{Path: filepath.ToSlash(rel)}
		if err := json.Unmarshal(b, &f.Types); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		for i, t := range f.Types {
			if t == nil {
				return fmt.Errorf("%s: type %d is null", p, i)
			}
			switch t.Kind {
			case "UnionType":
				err = json.Unmarshal(t.RawElements, &t.Elements)
			case "DiscriminatedObjectType":
				err = json.Unmarshal(t.RawElements, &t.Variants)
			case "ResourceType":
				if t.Body == nil {
					err = fmt.Errorf("resource type %s has no body", t.Name)
				}
				key := strings.ToLower(t.Name)
				typ, ver, _ := strings.Cut(key, "@")
				idx.Resources[key] = typeNode{f, t}
				idx.Names[key] = t.Name
				idx.Names[typ], _, _ = strings.Cut(t.Name, "@")
				idx.Versions[typ] = append(idx.Versions[typ], ver)
			}
			if err != nil {
				return fmt.Errorf("%s: type %d: %v", p, i, err)
			}
		}
		idx.Files[f.Path] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(idx.Resources) == 0 {
		return nil, fmt.Errorf("%s: no resource types", dir)
	}
	return idx, nil
}

// checkAzureTypes: every resource infra/ declares is valid against its
// type definition (see the top of this file), or an untypedResources
// exception.
func checkAzureTypes(in *infra, _ *codeFacts) errs {
	var e errs
	idx, err := loadAzureTypes()
	if err != nil {
		e.add("the Azure type definitions: %v", err)
		return e
	}
	usedException := map[string]bool{}
	for _, p := range in.sortedBicep() {
		f := in.Bicep[p]
		for _, r := range f.Resources {
			typ, ver, ok := strings.Cut(r.Type, "@")
			where := fmt.Sprintf("%s:%d: %s %s", p, r.Line, r.Name, r.Type)
			if !ok || typ == "" || ver == "" {
				e.add("%s: the type must be Namespace/type@api-version", where)
				continue
			}
			if key, reason, ok := exceptionFor(typ); ok {
				usedException[key] = true
				if _, typed := idx.Resources[strings.ToLower(r.Type)]; typed {
					e.add("%s: untypedResources says it has no type definition (%s), but %s has one now: remove the exception", where, reason, r.Type)
				}
				continue
			}
			rt, ok := idx.Resources[strings.ToLower(r.Type)]
			if !ok {
				e.add("%s: %s", where, missingType(idx, typ, ver))
				continue
			}
			if spelled := idx.Names[strings.ToLower(r.Type)]; spelled != r.Type {
				e.add("%s: the type definitions spell it %s", where, spelled)
			}
			w := &typeWalk{in: in, f: f, where: where, e: &e}
			w.resource(r, rt)
		}
	}
	for _, typ := range sortedKeys(untypedResources) {
		if !usedException[typ] {
			e.add("untypedResources lists %s, which infra/ no longer declares: remove the exception", typ)
		}
	}
	return e
}

// exceptionFor returns the untypedResources entry of a type.
func exceptionFor(typ string) (key, reason string, ok bool) {
	for k, v := range untypedResources {
		if strings.EqualFold(k, typ) {
			return k, v, true
		}
	}
	return "", "", false
}

// missingType says why Namespace/type@version has no definition.
func missingType(idx *azureTypeIndex, typ, ver string) string {
	ns, _, _ := strings.Cut(typ, "/")
	file := fmt.Sprintf("arm/%s@%s.json", strings.ToLower(ns), ver)
	source := "Azure/bicep-types-az"
	if strings.EqualFold(ns, "Microsoft.Graph") {
		file, source = fmt.Sprintf("microsoftgraph/microsoft.graph-%s@<extension version>.json", ver), "microsoftgraph/msgraph-bicep-types"
	}
	if vs := idx.Versions[strings.ToLower(typ)]; len(vs) > 0 {
		return fmt.Sprintf("API version %s of %s has no type definition (typed: %s); "+
			"a misspelled version, or a new one whose types.json from %s belongs in %s/%s",
			ver, typ, strings.Join(sortedCopy(vs), ", "), source, azureTypesDir, file)
	}
	var near []string
	for k := range idx.Versions {
		if t, _, _ := strings.Cut(k, "/"); strings.EqualFold(t, ns) && editDistance(k, strings.ToLower(typ)) <= 3 {
			near = append(near, idx.Names[k])
		}
	}
	hint := ""
	if len(near) > 0 {
		sort.Strings(near)
		hint = " (did you mean " + strings.Join(near, ", ") + "?)"
	}
	if idx.Files[file] != nil {
		return fmt.Sprintf("resource type %s has no type definition%s: %s/%s, the types of API version %s, has no such type",
			typ, hint, azureTypesDir, file, ver)
	}
	return fmt.Sprintf("resource type %s has no type definition%s; a misspelled type, or one whose types.json from %s belongs in %s/%s",
		typ, hint, source, azureTypesDir, file)
}

// typeWalk checks one resource declaration.
type typeWalk struct {
	in    *infra
	f     *bicepFile
	where string
	e     *errs
}

func (w *typeWalk) add(format string, args ...any) {
	w.e.add("%s: "+format, append([]any{w.where}, args...)...)
}

func (w *typeWalk) resource(r *statement, rt typeNode) {
	body, err := rt.deref(*rt.t.Body)
	if err != nil {
		w.add("%v", err)
		return
	}
	o, err := r.body()
	if err != nil {
		w.add("%v", err)
		return
	}
	w.scope(r, o, rt.t)
	if p, ok := o.get("parent"); ok {
		w.parent(r, p)
	}
	props, _, tname, ok := w.objectProps("", o, body)
	if !ok {
		return
	}
	for _, k := range o.Keys {
		if _, ok := bicepKeys[k]; ok {
			continue
		}
		prop, ok := props[k]
		if !ok {
			w.add("%s", unknownProperty("", k, tname, props))
			continue
		}
		if r.Existing && k != "name" && prop.Flags&flagIdentifier == 0 {
			w.add("an existing resource sets only its name (or identifiers) and scope, not %s", k)
			continue
		}
		w.property(k, o.Vals[k], prop, body, 0)
	}
	if !r.Existing {
		w.required("", o, props)
	}
}

// objectProps returns the properties an object literal may set: those of
// an ObjectType, or of a DiscriminatedObjectType's variant named by the
// literal value of its discriminator.
func (w *typeWalk) objectProps(path string, o *object, n typeNode) (map[string]typeProp, *typeRef, string, bool) {
	switch n.t.Kind {
	case "ObjectType":
		return n.t.Properties, n.t.AdditionalProperties, n.t.Name, true
	case "DiscriminatedObjectType":
		d := n.t.Discriminator
		expr, ok := o.get(d)
		if !ok {
			w.add("%s: %s is required: it selects one of %s", join(path, d), d, strings.Join(sortedKeys(n.t.Variants), ", "))
			return nil, nil, "", false
		}
		vals, _, known := w.in.scalarValues(w.f, expr, 0)
		if !known || len(vals) != 1 {
			w.add("%s = %s: must be a literal, it selects the type among %s", join(path, d), expr, strings.Join(sortedKeys(n.t.Variants), ", "))
			return nil, nil, "", false
		}
		ref, ok := n.t.Variants[vals[0]]
		if !ok {
			w.add("%s = %q is not one of %s", join(path, d), vals[0], strings.Join(sortedKeys(n.t.Variants), ", "))
			return nil, nil, "", false
		}
		v, err := n.deref(ref)
		if err != nil || v.t.Kind != "ObjectType" {
			w.add("%s: variant %s of %s is not an object type (%v)", join(path, d), vals[0], n.t.Name, err)
			return nil, nil, "", false
		}
		props := map[string]typeProp{}
		for k, p := range n.t.BaseProperties {
			props[k] = p
		}
		for k, p := range v.t.Properties {
			props[k] = p
		}
		return props, v.t.AdditionalProperties, v.t.Name + " (" + d + " " + vals[0] + ")", true
	}
	w.add("%s: an object is set, but the type is a %s", orBody(path), n.t.Kind)
	return nil, nil, "", false
}

func orBody(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// property checks one property set to expr.
func (w *typeWalk) property(path, expr string, prop typeProp, from typeNode, depth int) {
	if prop.Flags&flagReadOnly != 0 {
		w.add("%s is read-only: Azure sets it", path)
		return
	}
	n, err := from.deref(prop.Type)
	if err != nil {
		w.add("%s: %v", path, err)
		return
	}
	w.value(path, expr, n, depth)
}

// value checks the expression expr against type n.
func (w *typeWalk) value(path, expr string, n typeNode, depth int) {
	expr = strings.TrimSpace(expr)
	if depth > 30 || n.t.Kind == "AnyType" {
		return
	}
	if _, a, b, ok := splitTernary(expr); ok {
		w.value(path, a, n, depth+1)
		w.value(path, b, n, depth+1)
		return
	}
	if strings.HasPrefix(expr, "(") && matchClose(expr, 0) == len(expr)-1 {
		w.value(path, expr[1:len(expr)-1], n, depth+1)
		return
	}
	if v := w.f.Vars[expr]; v != nil && reIdent.MatchString(expr) {
		w.value(path, v.Expr, n, depth+1)
		return
	}
	kind := w.in.kindOf(w.f, expr)
	switch n.t.Kind {
	case "ObjectType", "DiscriminatedObjectType":
		if kind == "" || kind == "object" && !isLiteral(expr, '{') {
			return
		}
		if kind != "object" {
			w.add("%s = %s: expects an object, got a %s", path, firstLine(expr), kind)
			return
		}
		o, err := parseObject(expr, 0)
		if err != nil {
			w.add("%s: %v", path, err)
			return
		}
		w.object(path, o, n, depth)
	case "ArrayType":
		if kind == "" || kind == "array" && !isLiteral(expr, '[') {
			return
		}
		if kind != "array" {
			w.add("%s = %s: expects an array, got a %s", path, firstLine(expr), kind)
			return
		}
		item, err := n.deref(*n.t.ItemType)
		if err != nil {
			w.add("%s: %v", path, err)
			return
		}
		if bodyExpr, ok := loopBody(expr); ok {
			w.value(path+"[for]", bodyExpr, item, depth+1)
			return
		}
		items, err := parseArray(expr, 0)
		if err != nil {
			w.add("%s: %v", path, err)
			return
		}
		for i, it := range items {
			w.value(fmt.Sprintf("%s[%d]", path, i), it, item, depth+1)
		}
	case "StringType":
		if w.kind(path, expr, kind, "string") && strings.HasPrefix(expr, "'") {
			w.stringLiteral(path, expr, n.t)
		}
	case "BooleanType":
		w.kind(path, expr, kind, "bool")
	case "IntegerType":
		if !w.kind(path, expr, kind, "int") {
			return
		}
		vals, _, known := w.in.scalarValues(w.f, expr, 0)
		for _, v := range vals {
			i, err := strconv.ParseInt(v, 10, 64)
			if known && (err != nil || n.t.MinValue != nil && i < *n.t.MinValue || n.t.MaxValue != nil && i > *n.t.MaxValue) {
				w.add("%s = %s: %s is out of the type's range", path, expr, v)
			}
		}
	case "StringLiteralType", "UnionType":
		w.enum(path, expr, kind, n)
	default:
		w.add("%s: cannot check a value against a %s", path, n.t.Kind)
	}
}

// kind reports a literal of the wrong kind; true when it may be right.
func (w *typeWalk) kind(path, expr, got, want string) bool {
	if got != "" && got != want {
		w.add("%s = %s: expects a %s, got a %s", path, firstLine(expr), want, got)
		return false
	}
	return true
}

// stringLiteral checks a string literal (not a param's values: a
// conditional elsewhere may rule some out) against the length and pattern
// of a StringType. A pattern Go's regexp cannot compile (lookaheads) is not
// checked; \w matches ASCII only in Go, Unicode in .NET.
func (w *typeWalk) stringLiteral(path, expr string, t *azType) {
	vals, _, known := w.in.scalarValues(w.f, expr, 0)
	if !known || len(vals) != 1 {
		return
	}
	v, n := vals[0], utf8.RuneCountInString(vals[0])
	if t.MinLength != nil && n < *t.MinLength || t.MaxLength != nil && n > *t.MaxLength {
		w.add("%s = %q: %d characters, the type allows %s to %s", path, v, n, bound(t.MinLength), bound(t.MaxLength))
	}
	if t.Pattern == "" {
		return
	}
	if re, err := regexp.Compile(t.Pattern); err == nil && !re.MatchString(v) {
		w.add("%s = %q does not match the type's pattern %s", path, v, t.Pattern)
	}
}

func bound(p *int) string {
	if p == nil {
		return "any"
	}
	return strconv.Itoa(*p)
}

// extensibleValues are the strings infra/ sets outside an extensible
// enum's known values, by property path suffix, each with its reason.
var extensibleValues = map[string]struct{ prefix, reason string }{
	"streams[]": {"Custom-", "a data collection rule's custom streams are named Custom-<name> (Logs Ingestion API); the enum lists only Microsoft's own streams"},
}

// extensibleAllowed reports whether v may stand at path by extensibleValues.
func extensibleAllowed(path, v string) bool {
	generic := regexp.MustCompile(`\[\d+\]`).ReplaceAllString(path, "[]")
	for suffix, e := range extensibleValues {
		if strings.HasSuffix(generic, suffix) && strings.HasPrefix(v, e.prefix) && len(v) > len(e.prefix) {
			return true
		}
	}
	return false
}

// enum checks a string against a string literal or a union of them
// (strictly: an extensible enum's other strings need an explicit reason).
func (w *typeWalk) enum(path, expr, kind string, n typeNode) {
	var allowed []string
	open := false
	elems := []typeNode{n}
	if n.t.Kind == "UnionType" {
		elems = nil
		for _, r := range n.t.Elements {
			el, err := n.deref(r)
			if err != nil {
				w.add("%s: %v", path, err)
				return
			}
			elems = append(elems, el)
		}
	}
	for _, el := range elems {
		switch el.t.Kind {
		case "StringLiteralType":
			allowed = append(allowed, el.t.Value)
		case "StringType":
			open = true
		default:
			return // a union of other kinds: not an enum this check reads
		}
	}
	if !w.kind(path, expr, kind, "string") {
		return
	}
	vals, from, known := w.in.scalarValues(w.f, expr, 0)
	if !known {
		return
	}
	for _, v := range vals {
		if slices.Contains(allowed, v) {
			continue
		}
		if open && extensibleAllowed(path, v) {
			continue
		}
		how := fmt.Sprintf("%s = %q", path, v)
		if from != "" {
			how = fmt.Sprintf("%s = %s may be %q (%s)", path, firstLine(expr), v, from)
		}
		ext := ""
		if open {
			ext = " (the enum is extensible, so Azure may take other strings, but infra/ keeps to the known ones)"
		}
		w.add("%s, which is not one of %s%s", how, strings.Join(allowed, ", "), ext)
	}
}

// object checks an object literal against an object type.
func (w *typeWalk) object(path string, o *object, n typeNode, depth int) {
	props, addl, tname, ok := w.objectProps(path, o, n)
	if !ok {
		return
	}
	for _, k := range o.Keys {
		p := join(path, k)
		if prop, ok := props[k]; ok {
			w.property(p, o.Vals[k], prop, n, depth+1)
			continue
		}
		if addl == nil {
			w.add("%s", unknownProperty(path, k, tname, props))
			continue
		}
		at, err := n.deref(*addl)
		if err != nil {
			w.add("%s: %v", p, err)
			continue
		}
		w.value(p, o.Vals[k], at, depth+1)
	}
	w.required(path, o, props)
}

// required reports the required, writable properties o does not set.
func (w *typeWalk) required(path string, o *object, props map[string]typeProp) {
	for _, k := range sortedKeys(props) {
		p := props[k]
		if p.Flags&flagRequired == 0 || p.Flags&flagReadOnly != 0 {
			continue
		}
		if _, ok := o.Vals[k]; !ok {
			w.add("required property %s is missing", join(path, k))
		}
	}
}

func unknownProperty(path, key, tname string, props map[string]typeProp) string {
	var near []string
	for k, p := range props {
		if p.Flags&flagReadOnly == 0 && (strings.EqualFold(k, key) || editDistance(strings.ToLower(k), strings.ToLower(key)) <= 2) {
			near = append(near, k)
		}
	}
	hint := ""
	if len(near) > 0 {
		sort.Strings(near)
		hint = " (did you mean " + strings.Join(near, ", ") + "?)"
	}
	return fmt.Sprintf("%s is not a property of %s%s", join(path, key), tname, hint)
}

// scope checks that the resource can be deployed (or, existing, read) at
// the scope it is declared at.
func (w *typeWalk) scope(r *statement, o *object, rt *azType) {
	if rt.Flags&1 != 0 && !r.Existing {
		w.add("the type is read-only: declare it `existing`")
	}
	scopes := rt.WritableScopes
	if r.Existing {
		scopes = rt.ReadableScopes
	}
	if scopes == nil {
		return // the Graph extension's types carry no scopes
	}
	if *scopes == 0 {
		w.add("the type cannot be deployed: declare it `existing`")
		return
	}
	at := 0
	if s, ok := o.get("scope"); ok {
		at = w.scopeOf(s)
	} else {
		at = map[string]int{"tenant": 1, "managementGroup": 2, "subscription": 4, "resourceGroup": 8}[w.f.targetScope()]
	}
	if at == 0 || *scopes&at != 0 {
		return
	}
	var can []string
	for _, s := range scopeNames {
		if *scopes&s.bit != 0 {
			can = append(can, s.name)
		}
	}
	name := ""
	for _, s := range scopeNames {
		if s.bit == at {
			name = s.name
		}
	}
	w.add("declared at %s scope; the type is deployable at %s only", name, strings.Join(can, ", "))
}

// scopeOf names the scope a `scope:` expression denotes, or 0.
func (w *typeWalk) scopeOf(expr string) int {
	expr = squash(expr)
	switch {
	case expr == "tenant()":
		return 1
	case strings.HasPrefix(expr, "managementGroup("):
		return 2
	case strings.HasPrefix(expr, "subscription("):
		return 4
	case strings.HasPrefix(expr, "resourceGroup("):
		return 8
	}
	for _, r := range w.f.Resources {
		if r.Name == expr {
			if t, _, _ := strings.Cut(r.Type, "@"); strings.EqualFold(t, "Microsoft.Resources/resourceGroups") {
				return 8
			}
			return 16
		}
	}
	return 0
}

// parent checks that a child resource's type is its parent's plus one
// segment.
func (w *typeWalk) parent(r *statement, expr string) {
	for _, p := range w.f.Resources {
		if p.Name != strings.TrimSpace(expr) {
			continue
		}
		pt, _, _ := strings.Cut(p.Type, "@")
		ct, _, _ := strings.Cut(r.Type, "@")
		rest, ok := strings.CutPrefix(strings.ToLower(ct), strings.ToLower(pt)+"/")
		if !ok || rest == "" || strings.Contains(rest, "/") {
			w.add("parent %s is a %s; a child of it is %s/<child>", p.Name, pt, pt)
		}
		return
	}
	w.add("parent %s is not a resource of this file", expr)
}

// ---------------------------------------------------------------- values

// isLiteral reports whether expr is one bracketed literal opened by open.
func isLiteral(expr string, open byte) bool {
	return len(expr) > 1 && expr[0] == open && matchClose(expr, 0) == len(expr)-1
}

// kindOf returns the kind of a literal expression or of a param (string,
// int, bool, object, array, null), or "" when it cannot tell.
func (in *infra) kindOf(f *bicepFile, expr string) string {
	switch {
	case expr == "true" || expr == "false":
		return "bool"
	case expr == "null":
		return "null"
	case reNumber.MatchString(expr):
		return "int"
	case strings.HasPrefix(expr, "'") && skipString(expr, 0) == len(expr):
		return "string"
	case isLiteral(expr, '{'):
		return "object"
	case isLiteral(expr, '['):
		return "array"
	case reIdent.MatchString(expr):
		if p := f.Params[expr]; p != nil {
			switch t := p.Type; {
			case t == "string" || t == "int" || t == "bool" || t == "object" || t == "array":
				return t
			case strings.HasSuffix(t, "[]"):
				return "array"
			}
		}
	}
	return ""
}

// scalarValues returns every value a scalar expression of f can have:
// literals, interpolations of them, conditionals, vars, and params (their
// @allowed values, else what each module call of f passes, else their
// default). from says where param values came from. known is false when
// one of them cannot be known.
func (in *infra) scalarValues(f *bicepFile, expr string, depth int) (vals []string, from string, known bool) {
	expr = strings.TrimSpace(expr)
	if depth > 20 {
		return nil, "", false
	}
	if _, a, b, ok := splitTernary(expr); ok {
		va, fa, ka := in.scalarValues(f, a, depth+1)
		vb, fb, kb := in.scalarValues(f, b, depth+1)
		return append(va, vb...), strings.Trim(fa+"; "+fb, "; "), ka && kb
	}
	switch {
	case strings.HasPrefix(expr, "(") && matchClose(expr, 0) == len(expr)-1:
		return in.scalarValues(f, expr[1:len(expr)-1], depth+1)
	case expr == "true" || expr == "false" || reNumber.MatchString(expr):
		return []string{expr}, "", true
	case strings.HasPrefix(expr, "'") && skipString(expr, 0) == len(expr):
		v, ok := interpolate(expr, func(inner string) (string, bool) {
			vs, _, ok := in.scalarValues(f, inner, depth+1)
			if !ok || len(vs) != 1 {
				return "", false
			}
			return vs[0], true
		})
		if !ok {
			return nil, "", false
		}
		return []string{v}, "", true
	case reIdent.MatchString(expr):
		if v := f.Vars[expr]; v != nil {
			return in.scalarValues(f, v.Expr, depth+1)
		}
		p := f.Params[expr]
		if p == nil {
			return nil, "", false
		}
		if allowed := allowedValues(p); len(allowed) > 0 {
			return allowed, fmt.Sprintf("@allowed of param %s in %s", p.Name, f.Path), true
		}
		var callers []string
		for _, cp := range in.sortedBicep() {
			cf := in.Bicep[cp]
			for _, m := range cf.Modules {
				if in.moduleFile(cf, m) != f {
					continue
				}
				mp, err := m.moduleParams()
				if err != nil {
					return nil, "", false
				}
				arg, ok := mp.Vals[p.Name]
				vf := cf
				if !ok {
					arg, vf = p.Expr, f
				}
				if arg == "" {
					return nil, "", false
				}
				vs, fr, ok := in.scalarValues(vf, arg, depth+1)
				if !ok {
					return nil, "", false
				}
				vals = append(vals, vs...)
				callers = append(callers, fmt.Sprintf("%s module %s", cp, m.Name))
				if fr != "" {
					callers = append(callers, fr)
				}
			}
		}
		if len(callers) == 0 {
			return nil, "", false // deployed directly: any value
		}
		return vals, "passed by " + strings.Join(callers, ", "), true
	}
	return nil, "", false
}

// splitTernary splits `cond ? a : b` at depth 0.
func splitTernary(expr string) (cond, a, b string, ok bool) {
	q, c, nested := -1, -1, 0
	scanTop(expr, func(i int) bool {
		switch expr[i] {
		case '?':
			if strings.HasPrefix(expr[i:], "??") || i > 0 && (expr[i-1] == '?' || expr[i-1] == '.') || i+1 < len(expr) && expr[i+1] == '.' {
				return true // ??, .? and ?. are not conditionals
			}
			if q < 0 {
				q = i
			} else {
				nested++
			}
		case ':':
			if q >= 0 {
				if nested == 0 {
					c = i
					return false
				}
				nested--
			}
		}
		return true
	})
	if q < 0 || c < 0 {
		return "", "", "", false
	}
	return strings.TrimSpace(expr[:q]), strings.TrimSpace(expr[q+1 : c]), strings.TrimSpace(expr[c+1:]), true
}

// scanTop calls fn for each byte of expr outside strings and brackets,
// until fn returns false.
func scanTop(expr string, fn func(i int) bool) {
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '\'':
			i = skipString(expr, i) - 1
			continue
		case '{', '[', '(':
			j := matchClose(expr, i)
			if j < 0 {
				return
			}
			i = j
			continue
		}
		if !fn(i) {
			return
		}
	}
}

var reFor = regexp.MustCompile(`^for\b`)

// loopBody returns the item expression of `[for … in …: item]`.
func loopBody(expr string) (string, bool) {
	inner := strings.TrimSpace(expr[1 : len(expr)-1])
	if !reFor.MatchString(inner) {
		return "", false
	}
	colon := -1
	scanTop(inner, func(i int) bool {
		if inner[i] == ':' {
			colon = i
			return false
		}
		return true
	})
	if colon < 0 {
		return "", false
	}
	return strings.TrimSpace(inner[colon+1:]), true
}

// editDistance is the Levenshtein distance of two strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// TestTypeWalkHelpers checks the expression helpers of the type walk on
// the awkward cases: Bicep's ?? and ?. operators, nested conditionals,
// question marks and colons inside strings, objects and lambdas.
func TestTypeWalkHelpers(t *testing.T) {
	for _, tc := range []struct {
		expr, cond, a, b string
		ok               bool
	}{
		{"x ? 'a' : 'b'", "x", "'a'", "'b'", true},
		{"empty(n) ? 'unused' : n", "empty(n)", "'unused'", "n", true},
		{"a ? b ? 'x' : 'y' : 'z'", "a", "b ? 'x' : 'y'", "'z'", true},
		{"a ? 'x' : b ? 'y' : 'z'", "a", "'x'", "b ? 'y' : 'z'", true},
		{"h ? { k: 'v?' } : {}", "h", "{ k: 'v?' }", "{}", true},
		{"x ?? 'd'", "", "", "", false},
		{"x.?y", "", "", "", false},
		{"'is it? yes: no'", "", "", "", false},
		{"filter(xs, r => r.v == 'a' ? 1 : 2)", "", "", "", false},
	} {
		c, a, b, ok := splitTernary(tc.expr)
		if c != tc.cond || a != tc.a || b != tc.b || ok != tc.ok {
			t.Errorf("splitTernary(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.expr, c, a, b, ok, tc.cond, tc.a, tc.b, tc.ok)
		}
	}
	for expr, want := range map[string]string{
		"[for q in names: { name: q }]":      "{ name: q }",
		"[for (q, i) in names: '${q}-${i}']": "'${q}-${i}'",
		"[\n  for x in y: x\n]":              "x",
		"[ 'for', 'x' ]":                     "",
	} {
		if got, _ := loopBody(expr); got != want {
			t.Errorf("loopBody(%q) = %q, want %q", expr, got, want)
		}
	}
	if d := editDistance("softDeleteRetentionDays", "softDeleteRetentionInDays"); d != 2 {
		t.Errorf("editDistance = %d, want 2", d)
	}
}
