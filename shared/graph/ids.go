package graph

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// maxFilterIDs is how many ids one `in` filter names. Graph limits a filter
// with the `in` operator to 15 expressions unless advanced query
// capabilities are used (then to a 2,048-character URL), and each id is one
// expression (Graph known issues, "Some limitations apply to query
// parameters": microsoft-graph-docs-contrib
// concepts/includes/known-issues/query-parameters.md). 15 GUIDs and a
// $select list stay far below any URL limit, and need no ConsistencyLevel
// header.
const maxFilterIDs = 15

// inChunks reads the objects whose property prop (id, appId) is one of ids:
// read gets each filter `prop in ('…',…)` in turn, for at most maxFilterIDs
// ids each. The ids are lower-cased and de-duplicated (first occurrence
// order); ids that are not GUIDs never reach a filter (they would be text
// inside a quoted OData literal) and are logged as skipped. No ids, or no
// valid ones, means no request. An error from read stops the reads.
func (c *Client) inChunks(ctx context.Context, prop string, ids []string, read func(filter string) error) error {
	valid := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	skipped := 0
	var first string
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		if !tenant.IsGUID(id) {
			if skipped == 0 {
				first = id
			}
			skipped++
			continue
		}
		if !seen[id] {
			seen[id] = true
			valid = append(valid, id)
		}
	}
	if skipped > 0 {
		if len(first) > 64 {
			first = first[:64] + "…"
		}
		// slog quotes the value: the id is outside input.
		c.log.LogAttrs(ctx, slog.LevelWarn, "graph: ids that are not GUIDs skipped",
			slog.String("property", prop), slog.Int("skipped", skipped), slog.String("first", first))
	}
	for chunk := range slices.Chunk(valid, maxFilterIDs) {
		if err := read(inFilter(prop, chunk)); err != nil {
			return err
		}
	}
	return nil
}

// inFilter is `prop in ('a','b')`. The ids are GUIDs: nothing to escape.
func inFilter(prop string, ids []string) string {
	var b strings.Builder
	b.WriteString(prop + " in (")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("'" + id + "'")
	}
	b.WriteByte(')')
	return b.String()
}
