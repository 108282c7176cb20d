package pagejson

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// tree reads the next value into what encoding/json makes of it in an
// interface value: map[string]any (a repeated name: the last), []any,
// string, float64, bool, nil. Half the members and elements are read by
// tree, the others by Raw and json.Unmarshal, so that Skip is exercised
// on every kind.
func tree(d *Decoder, alt *bool) (any, error) {
	*alt = !*alt
	if *alt {
		var v any
		if err := json.Unmarshal(d.Raw(), &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	switch d.Kind() {
	case Object:
		m := map[string]any{}
		_, err := d.Object(func(name []byte) error {
			k := string(name)
			v, err := tree(d, alt)
			m[k] = v
			return err
		})
		return m, err
	case Array:
		a := []any{}
		_, err := d.Array(func() error {
			v, err := tree(d, alt)
			a = append(a, v)
			return err
		})
		return a, err
	case String:
		s, err := d.String()
		return s, err
	case Number:
		f, _, err := d.Float()
		return f, err
	case Bool:
		b, _, err := d.Bool()
		return b, err
	case Null:
		_, null, err := d.Bytes()
		if !null {
			return nil, errors.New("null is not null")
		}
		return nil, err
	}
	return nil, errors.New("no value")
}

// FuzzDecoder: on valid JSON that encoding/json decodes, the Decoder reads
// the same values (names and strings unescaped alike), and ends at the end
// of the input; on any input it returns.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		`{"value":[{"id":"a","n":1.5e3,"b":true,"z":null,"s":"\u00e9\ud83d\ude00\ud800\"\\\/\b\f\n\r\t"}],"@odata.nextLink":"x"}`,
		`[[],{},"",0,-0.1,false]`,
		` {"a" : { "b" : [ 1 , 2 ] } , "a" : 3 } `,
		`"caf` + "\xc3\xa9\xff" + `"`,
		`{"n\u0061me":"\\"}`,
		`1e999`,
		`{"a":`,
		`}]"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want any
		valid := json.Valid(b)
		err := json.Unmarshal(b, &want)
		d := NewDecoder(b)
		alt := true // tree's first value through the Decoder
		got, gotErr := tree(d, &alt)
		if !valid || err != nil {
			return // it returned
		}
		if gotErr != nil {
			t.Fatalf("error %v on %q", gotErr, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read %#v, encoding/json %#v, from %q", got, want, b)
		}
		if k := d.Kind(); k != End {
			t.Fatalf("a %v after the value of %q", k, b)
		}
	})
}

// TestTypeErrors: a value of another kind is an error and is not read.
func TestTypeErrors(t *testing.T) {
	d := NewDecoder([]byte(`[1,"s",true]`))
	var errs []error
	d.Array(func() error {
		_, _, err := d.Bytes()
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if _, _, err := d.Bool(); err == nil {
			return nil
		}
		_, _, err = d.Float()
		return err
	})
	var te *TypeError
	if len(errs) != 2 || !errors.As(errs[0], &te) || te.Got != Number || te.Want != "string" {
		t.Fatalf("errors %v", errs)
	}
	if d.Kind() != End {
		t.Errorf("not at the end: %v", d.Kind())
	}
}
