package audit

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Split ("sequence") records: since about mid-2024 Entra cuts large licence
// changes into several events that carry, in additionalDetails, a shared id,
// a sequence number (seq), a chunk count (c) and a fragment (b) of the
// escaped JSON of the original record, and no modifiedProperties. The format
// is documented only by observers; this reassembly is best effort.

// maxSplitParts bounds the chunk count a group may declare.
const maxSplitParts = 1000

// splitRecord is one reassembled record.
type splitRecord struct {
	First tenant.AuditEvent // the chunk with the lowest sequence number
	Parts int
	Props []tenant.ModifiedProperty
}

// reassemble groups events by their sequence id, and for each complete
// group joins the fragments in order and reads the modified properties from
// the result. Incomplete or unreadable groups are dropped. Groups come in
// the order their first chunk appears.
func reassemble(events []tenant.AuditEvent) []splitRecord {
	type chunk struct {
		ev  tenant.AuditEvent
		seq int
		b   string
	}
	groups := make(map[string][]chunk)
	counts := make(map[string]int)
	var order []string
	for _, e := range events {
		id, seqS, cS, b := detail(e, "id"), detail(e, "seq"), detail(e, "c"), detailRaw(e, "b")
		if id == "" || seqS == "" || cS == "" {
			continue
		}
		seq, err1 := strconv.Atoi(seqS)
		c, err2 := strconv.Atoi(cS)
		if err1 != nil || err2 != nil || c <= 0 || c > maxSplitParts {
			continue
		}
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], chunk{ev: e, seq: seq, b: b})
		counts[id] = c
	}
	var out []splitRecord
	for _, id := range order {
		cs := groups[id]
		slices.SortStableFunc(cs, func(a, b chunk) int { return a.seq - b.seq })
		cs = slices.CompactFunc(cs, func(a, b chunk) bool { return a.seq == b.seq })
		if len(cs) != counts[id] {
			continue
		}
		var sb strings.Builder
		for _, c := range cs {
			sb.WriteString(c.b)
		}
		props := propsFromBlob(sb.String())
		if len(props) == 0 {
			continue
		}
		out = append(out, splitRecord{First: cs[0].ev, Parts: len(cs), Props: props})
	}
	return out
}

// detail returns the trimmed additionalDetails value of key
// (case-insensitive), or "".
func detail(e tenant.AuditEvent, key string) string { return strings.TrimSpace(detailRaw(e, key)) }

func detailRaw(e tenant.AuditEvent, key string) string {
	for _, kv := range e.Details {
		if strings.EqualFold(strings.TrimSpace(kv.Key), key) {
			return kv.Value
		}
	}
	return ""
}

// propsFromBlob reads modified properties from reassembled JSON: an array of
// {displayName|name, oldValue, newValue} objects, or an object holding one
// under modifiedProperties (directly or in targetResources[]). The JSON may
// itself be escaped as the content of a JSON string.
func propsFromBlob(blob string) []tenant.ModifiedProperty {
	blob = strings.TrimSpace(blob)
	if !json.Valid([]byte(blob)) {
		var unq string
		if json.Unmarshal([]byte(`"`+blob+`"`), &unq) != nil {
			return nil
		}
		blob = unq
	}
	return propsFrom(decodeValue(blob), 0)
}

func propsFrom(v any, depth int) []tenant.ModifiedProperty {
	if depth > 3 {
		return nil
	}
	switch v := v.(type) {
	case []any:
		var out []tenant.ModifiedProperty
		for _, el := range v {
			m, ok := el.(map[string]any)
			if !ok {
				continue
			}
			name := mapString(m, "displayName")
			if name == "" {
				name = mapString(m, "name")
			}
			if name == "" {
				out = append(out, propsFrom(m, depth+1)...)
				continue
			}
			out = append(out, tenant.ModifiedProperty{Name: name, Old: rawText(m, "oldValue"), New: rawText(m, "newValue")})
		}
		return out
	case map[string]any:
		if mp, ok := mapGet(v, "modifiedProperties"); ok {
			return propsFrom(mp, depth+1)
		}
		if tr, ok := mapGet(v, "targetResources"); ok {
			return propsFrom(tr, depth+1)
		}
	}
	return nil
}

// rawText returns m[key] as the string Graph would have sent: strings as
// they are, anything else as its JSON text.
func rawText(m map[string]any, key string) string {
	v, ok := mapGet(m, key)
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
