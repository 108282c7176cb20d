package audit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKeyDescriptions(t *testing.T) {
	t.Parallel()
	const k1, k2 = "0e3c1b5a-7d3e-4f6a-9a51-3c2b1d0e9f87", "5b8a2c1d-9e7f-4a3b-8c6d-1e2f3a4b5c6d"
	tests := []struct {
		name string
		raw  string
		want []Key
	}{
		{
			name: "graph format",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=Foo]"]`,
			want: []Key{{ID: k1, Type: "AsymmetricX509Cert", Usage: "Verify", DisplayName: "CN=Foo"}},
		},
		{
			name: "display name with commas, equals and brackets",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=Foo, Inc [prod], O=A=B]"]`,
			want: []Key{{ID: k1, Type: "AsymmetricX509Cert", Usage: "Verify", DisplayName: "CN=Foo, Inc [prod], O=A=B"}},
		},
		{
			name: "display name that imitates fields",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=x,KeyIdentifier=` + k2 + `,DisplayName=y]"]`,
			want: []Key{{ID: k1, Type: "Password", Usage: "Verify", DisplayName: "x,KeyIdentifier=" + k2 + ",DisplayName=y"}},
		},
		{
			name: "two items, empty display name",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=]","[KeyIdentifier=` + k2 + `,KeyType=AsymmetricX509Cert,KeyUsage=Sign,DisplayName=b]"]`,
			want: []Key{{ID: k1, Type: "Password", Usage: "Verify"}, {ID: k2, Type: "AsymmetricX509Cert", Usage: "Sign", DisplayName: "b"}},
		},
		{
			name: "encoded twice",
			raw:  `"[\"[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=a]\"]"`,
			want: []Key{{ID: k1, Type: "Password", Usage: "Verify", DisplayName: "a"}},
		},
		{
			name: "bare string with two items",
			raw:  `[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=a], [KeyIdentifier=` + k2 + `,KeyType=Password,KeyUsage=Verify,DisplayName=b]`,
			want: []Key{{ID: k1, Type: "Password", Usage: "Verify", DisplayName: "a"}, {ID: k2, Type: "Password", Usage: "Verify", DisplayName: "b"}},
		},
		{
			name: "object items",
			raw:  `[{"KeyIdentifier":"` + k1 + `","KeyType":"Password","DisplayName":"x"}]`,
			want: []Key{{ID: k1, Type: "Password", DisplayName: "x"}},
		},
		{
			name: "object item with KeyId",
			raw:  `{"KeyId":"` + k1 + `"}`,
			want: []Key{{ID: k1}},
		},
		{name: "no key identifier", raw: `["[KeyType=Password,DisplayName=x]"]`},
		{name: "display name first swallows the rest", raw: `["[DisplayName=x,KeyIdentifier=` + k1 + `]"]`},
		{name: "empty array", raw: `[]`},
		{name: "null", raw: `null`},
		{name: "empty", raw: ``},
		{name: "brackets only", raw: `[[[[]]]]`},
		{name: "numbers", raw: `[1,2,3]`},
		{name: "lone bracket", raw: `[`},
		{name: "unicode", raw: `["[KeyIdentifier=İİİ,DisplayName=İDisplayName=]"]`, want: []Key{{ID: "İİİ", DisplayName: "İDisplayName="}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseKeyDescriptions(tt.raw)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	c := CredentialChange{KeyDescription: Change[Key]{
		Old: parseKeyDescriptions(`["[KeyIdentifier=` + strings.ToUpper(k1) + `,DisplayName=a]"]`),
		New: parseKeyDescriptions(`["[KeyIdentifier=` + k1 + `,DisplayName=a]","[KeyIdentifier=` + k2 + `,DisplayName=b]","[KeyIdentifier=` + k2 + `,DisplayName=b]"]`),
	}}
	if got := c.Added(); len(got) != 1 || got[0].ID != k2 {
		t.Errorf("Added = %+v, want only %s once", got, k2)
	}
}
