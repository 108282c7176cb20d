// Package ocsfcheck checks OCSF events against the schema's own files: the
// class's attributes resolved through "extends" (detection_finding →
// finding → base_event) and the objects they use, with dictionary.json's
// types and enums. It is imported by tests only (shared/report and
// shared/cli check findings.ocsf.jsonl with it).
//
// For each event it checks that every required attribute is present, that
// every recommended one is present or listed in the caller's exceptions,
// that every attribute present is defined for its class or object (only
// the contents of unmapped are free), that enum values are defined and a
// sibling caption (status for status_id …) matches, that values have the
// attribute's type (integer, long and timestamp, string, boolean, object,
// array), that at_least_one constraints hold, and that class_uid,
// category_uid and type_uid agree with the class and activity_id.
//
// An attribute whose object is not among the loaded files is checked to be
// a JSON object only; Unverified lists those objects by name.
package ocsfcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Schema is the loaded part of an OCSF schema.
type Schema struct {
	dict       map[string]dictAttr
	types      map[string]dictType
	classes    map[string]*def // by name: base_event, finding, detection_finding
	objects    map[string]*def // by name
	categories map[string]int  // category name → uid
	unverified map[string]bool
}

type dictAttr struct {
	Type    string                     `json:"type"`
	IsArray bool                       `json:"is_array"`
	Enum    map[string]json.RawMessage `json:"enum"`
	Sibling string                     `json:"sibling"`
}

type dictType struct {
	Type string `json:"type"`
}

type def struct {
	Name        string                     `json:"name"`
	Extends     string                     `json:"extends"`
	UID         int                        `json:"uid"`
	Category    string                     `json:"category"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	Constraints struct {
		AtLeastOne []string `json:"at_least_one"`
	} `json:"constraints"`
}

type attrDef struct {
	Requirement string                     `json:"requirement"`
	Type        string                     `json:"type"`
	Enum        map[string]json.RawMessage `json:"enum"`
}

// attr is an attribute resolved for one class or object.
type attr struct {
	name        string
	requirement string
	typ         string
	isArray     bool
	enum        map[string]string // value → caption
	sibling     string
}

// Load reads the schema excerpt under dirs (each holding any of
// dictionary.json, categories.json, events/**.json and objects/*.json;
// later directories add files the first lacks).
func Load(dirs ...string) (*Schema, error) {
	s := &Schema{
		dict: map[string]dictAttr{}, types: map[string]dictType{},
		classes: map[string]*def{}, objects: map[string]*def{}, categories: map[string]int{},
		unverified: map[string]bool{},
	}
	for _, dir := range dirs {
		if b, err := os.ReadFile(filepath.Join(dir, "dictionary.json")); err == nil {
			var d struct {
				Attributes map[string]dictAttr `json:"attributes"`
				Types      struct {
					Attributes map[string]dictType `json:"attributes"`
				} `json:"types"`
			}
			if err := json.Unmarshal(b, &d); err != nil {
				return nil, fmt.Errorf("ocsfcheck: dictionary.json: %w", err)
			}
			s.dict, s.types = d.Attributes, d.Types.Attributes
		}
		if b, err := os.ReadFile(filepath.Join(dir, "categories.json")); err == nil {
			var c struct {
				Attributes map[string]struct {
					UID int `json:"uid"`
				} `json:"attributes"`
			}
			if err := json.Unmarshal(b, &c); err != nil {
				return nil, fmt.Errorf("ocsfcheck: categories.json: %w", err)
			}
			for n, v := range c.Attributes {
				s.categories[n] = v.UID
			}
		}
		for sub, into := range map[string]map[string]*def{"events": s.classes, "objects": s.objects} {
			err := filepath.WalkDir(filepath.Join(dir, sub), func(p string, e os.DirEntry, err error) error {
				if err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return filepath.SkipDir
					}
					return err
				}
				if e.IsDir() || !strings.HasSuffix(p, ".json") {
					return nil
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				var d def
				if err := json.Unmarshal(b, &d); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				into[d.Name] = &d
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("ocsfcheck: %w", err)
			}
		}
	}
	if len(s.dict) == 0 || len(s.classes) == 0 {
		return nil, fmt.Errorf("ocsfcheck: no dictionary or classes under %v", dirs)
	}
	return s, nil
}

// chain returns d and its ancestors, root first.
func (s *Schema) chain(d *def, pool map[string]*def) ([]*def, error) {
	var out []*def
	for seen := 0; d != nil; seen++ {
		if seen > 16 {
			return nil, fmt.Errorf("ocsfcheck: extends loop at %s", d.Name)
		}
		out = append(out, d)
		if d.Extends == "" {
			break
		}
		p, ok := pool[d.Extends]
		if !ok {
			return nil, fmt.Errorf("ocsfcheck: %s extends %s, which is not loaded", d.Name, d.Extends)
		}
		d = p
	}
	slices.Reverse(out)
	return out, nil
}

// resolve merges d's attributes through its extends chain over the
// dictionary: the nearest definition's requirement and type win, enums
// are merged with the nearest caption winning.
func (s *Schema) resolve(d *def, pool map[string]*def) (map[string]*attr, [][]string, error) {
	ch, err := s.chain(d, pool)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]*attr{}
	var constraints [][]string
	for _, c := range ch {
		if len(c.Constraints.AtLeastOne) > 0 {
			constraints = append(constraints, c.Constraints.AtLeastOne)
		}
		for name, raw := range c.Attributes {
			if name == "$include" {
				continue // profiles: not applied
			}
			var ad attrDef
			if err := json.Unmarshal(raw, &ad); err != nil {
				return nil, nil, fmt.Errorf("ocsfcheck: %s.%s: %w", c.Name, name, err)
			}
			a := out[name]
			if a == nil {
				da, ok := s.dict[name]
				if !ok {
					return nil, nil, fmt.Errorf("ocsfcheck: %s.%s is not in the dictionary", c.Name, name)
				}
				a = &attr{name: name, typ: da.Type, isArray: da.IsArray, sibling: da.Sibling, enum: captions(da.Enum)}
				out[name] = a
			}
			if ad.Requirement != "" {
				a.requirement = ad.Requirement
			}
			if ad.Type != "" {
				a.typ = ad.Type
			}
			for k, v := range captions(ad.Enum) {
				if a.enum == nil {
					a.enum = map[string]string{}
				}
				a.enum[k] = v
			}
		}
	}
	for _, a := range out {
		if a.requirement == "" {
			a.requirement = "optional"
		}
	}
	return out, constraints, nil
}

func captions(enum map[string]json.RawMessage) map[string]string {
	if len(enum) == 0 {
		return nil
	}
	out := make(map[string]string, len(enum))
	for k, raw := range enum {
		var v struct {
			Caption string `json:"caption"`
		}
		_ = json.Unmarshal(raw, &v)
		out[k] = v.Caption
	}
	return out
}

// Exceptions maps "<class or object>.<attribute>" (detection_finding.
// confidence_id, technique.name …) to the reason a recommended attribute
// may be absent.
type Exceptions map[string]string

// CheckLine checks one event, a JSON object of class className, and returns
// every problem found, each naming the attribute's path.
func (s *Schema) CheckLine(className string, line []byte, exc Exceptions) []error {
	cls, ok := s.classes[className]
	if !ok {
		return []error{fmt.Errorf("class %s is not loaded", className)}
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return []error{fmt.Errorf("not a JSON object: %w", err)}
	}
	c := &checker{s: s, exc: exc}
	c.object("", cls, s.classes, ev)
	// Classification: the class's ids. A class's category is its own or
	// its nearest ancestor's (detection_finding's is finding's).
	ch, err := s.chain(cls, s.classes)
	if err != nil {
		return append(c.errs, err)
	}
	category := ""
	for _, d := range ch {
		if d.Category != "" {
			category = d.Category
		}
	}
	catUID, ok := s.categories[category]
	if !ok {
		c.errf("", "category %q of class %s is not in categories.json", category, cls.Name)
	}
	wantClass := catUID*1000 + cls.UID
	if n, ok := intOf(ev["category_uid"]); !ok || n != int64(catUID) {
		c.errf("category_uid", "= %v, want %d", ev["category_uid"], catUID)
	}
	if n, ok := intOf(ev["class_uid"]); !ok || n != int64(wantClass) {
		c.errf("class_uid", "= %v, want %d", ev["class_uid"], wantClass)
	}
	act, _ := intOf(ev["activity_id"])
	if n, ok := intOf(ev["type_uid"]); !ok || n != int64(wantClass)*100+act {
		c.errf("type_uid", "= %v, want class_uid*100 + activity_id = %d", ev["type_uid"], int64(wantClass)*100+act)
	}
	return c.errs
}

// Unverified names the objects met whose definition was not loaded.
func (s *Schema) Unverified() []string {
	var out []string
	for n := range s.unverified {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type checker struct {
	s    *Schema
	exc  Exceptions
	errs []error
}

func (c *checker) errf(path, format string, a ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// object checks v against the class or object d.
func (c *checker) object(path string, d *def, pool map[string]*def, v map[string]any) {
	attrs, constraints, err := c.s.resolve(d, pool)
	if err != nil {
		c.errs = append(c.errs, err)
		return
	}
	ch, err := c.s.chain(d, pool)
	if err != nil {
		c.errs = append(c.errs, err)
		return
	}
	// An exception may name the class or object, or any it extends.
	excepted := func(n string) bool {
		for _, x := range ch {
			if _, ok := c.exc[x.Name+"."+n]; ok {
				return true
			}
		}
		return false
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := attrs[n]
		val, present := v[n]
		present = present && val != nil
		switch {
		case present:
		case a.requirement == "required":
			c.errf(join(path, n), "required by %s, missing", d.Name)
		case a.requirement == "recommended":
			if !excepted(n) {
				c.errf(join(path, n), "recommended by %s, missing, and not in the exception table (%s.%s)", d.Name, d.Name, n)
			}
		}
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, ok := attrs[k]
		if !ok {
			c.errf(join(path, k), "not an attribute of %s", d.Name)
			continue
		}
		if path == "" && (k == "category_uid" || k == "class_uid") {
			// The base event's enums hold only 0; a class's own ids are
			// checked against categories.json and the class (CheckLine).
			a = &attr{name: a.name, typ: a.typ}
		}
		c.value(join(path, k), a, v[k], v)
	}
	for _, set := range constraints {
		found := false
		for _, n := range set {
			if x, ok := v[n]; ok && x != nil {
				found = true
			}
		}
		if !found {
			c.errf(path, "%s wants at least one of %v", d.Name, set)
		}
	}
}

// value checks one attribute's value: array-ness, type, enum.
func (c *checker) value(path string, a *attr, v any, parent map[string]any) {
	if a.isArray {
		arr, ok := v.([]any)
		if !ok {
			c.errf(path, "want an array of %s, got %T", a.typ, v)
			return
		}
		for i, e := range arr {
			c.scalarOrObject(fmt.Sprintf("%s[%d]", path, i), a, e, parent)
		}
		return
	}
	c.scalarOrObject(path, a, v, parent)
}

func (c *checker) scalarOrObject(path string, a *attr, v any, parent map[string]any) {
	base := c.baseType(a.typ)
	switch base {
	case "string_t":
		if _, ok := v.(string); !ok {
			c.errf(path, "want a string (%s), got %T", a.typ, v)
		}
	case "integer_t", "long_t":
		n, ok := intOf(v)
		if !ok {
			c.errf(path, "want an integer (%s), got %v", a.typ, v)
			return
		}
		if base == "integer_t" && (n < -1<<31 || n > 1<<31-1) {
			c.errf(path, "%d does not fit integer_t", n)
		}
		if a.enum != nil {
			caption, ok := a.enum[strconv.FormatInt(n, 10)]
			if !ok {
				c.errf(path, "%d is not a value of its enum", n)
				return
			}
			if a.sibling != "" && n != 99 {
				if sv, ok := parent[a.sibling]; ok && sv != caption {
					c.errf(path, "sibling %s = %v, want the caption %q", a.sibling, sv, caption)
				}
			}
		}
	case "float_t":
		if _, ok := v.(json.Number); !ok {
			c.errf(path, "want a number, got %T", v)
		}
	case "boolean_t":
		if _, ok := v.(bool); !ok {
			c.errf(path, "want a boolean, got %T", v)
		}
	case "json_t":
		// any JSON value
	case "object":
		if _, ok := v.(map[string]any); !ok {
			c.errf(path, "want an object, got %T", v)
		}
		// The generic object (unmapped): contents are the source's own.
	default: // an object type
		m, ok := v.(map[string]any)
		if !ok {
			c.errf(path, "want a %s object, got %T", a.typ, v)
			return
		}
		od, ok := c.s.objects[a.typ]
		if !ok {
			c.s.unverified[a.typ] = true
			return
		}
		c.object(path, od, c.s.objects, m)
	}
}

// baseType follows a dictionary type to its base (timestamp_t → long_t);
// an object name is returned as is.
func (c *checker) baseType(t string) string {
	for range 8 {
		dt, ok := c.s.types[t]
		if !ok || dt.Type == "" {
			return t
		}
		t = dt.Type
	}
	return t
}

func intOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}
