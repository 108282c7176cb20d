package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

// Rows of the cursors table: PartitionKey "cursor", RowKey key(name).
const cursorPartition = "cursor"

// Cursor returns the stored cursor of stream name, or state.Cursor{Name:
// name} (ETag "") when the stream never saved one.
func (t *Tables) Cursor(ctx context.Context, name string) (state.Cursor, error) {
	op := fmt.Sprintf("read cursor %q", name)
	if name == "" {
		return state.Cursor{}, fmt.Errorf("store: %s: empty name", op)
	}
	r, ok, err := t.get(ctx, tableCursors, cursorPartition, key(name))
	if err != nil {
		return state.Cursor{}, wrap(op, err)
	}
	if !ok {
		return state.Cursor{Name: name}, nil
	}
	c, err := cursorFromRow(r)
	if err != nil {
		return state.Cursor{}, fmt.Errorf("store: %s: %w", op, err)
	}
	return c, nil
}

func cursorFromRow(r row) (state.Cursor, error) {
	c := state.Cursor{Name: r.str("Name"), DeltaLink: r.str("DeltaLink"), ETag: r.etag}
	var err1, err2 error
	c.Watermark, err1 = r.time("Watermark")
	c.UpdatedAt, err2 = r.time("UpdatedAt")
	return c, errors.Join(err1, err2)
}

// SaveCursor stores c and returns it with UpdatedAt (now) and its new ETag.
// A cursor with ETag "" is inserted and must not exist yet; otherwise it
// replaces the stored row only if that still has c.ETag. Losing either race
// is an error wrapping ErrConflict: another invocation moved the stream.
func (t *Tables) SaveCursor(ctx context.Context, c state.Cursor) (state.Cursor, error) {
	op := fmt.Sprintf("save cursor %q", c.Name)
	if c.Name == "" {
		return c, fmt.Errorf("store: %s: empty name", op)
	}
	c.Watermark = norm(c.Watermark)
	c.UpdatedAt = norm(t.now())
	etag, err := t.saveVersioned(ctx, tableCursors, cursorEntity(c), c.ETag)
	if err != nil {
		return c, wrap(op, err)
	}
	c.ETag = etag
	return c, nil
}

func cursorEntity(c state.Cursor) entity {
	e := newEntity(cursorPartition, key(c.Name))
	e.str("Name", c.Name)
	e.str("DeltaLink", c.DeltaLink)
	e.time("Watermark", c.Watermark)
	e.time("UpdatedAt", c.UpdatedAt)
	return e
}

// saveVersioned inserts e when etag is "" and otherwise replaces the row
// holding etag. A replaced row that has since been deleted is a conflict
// too.
func (t *Tables) saveVersioned(ctx context.Context, table string, e entity, etag string) (string, error) {
	if etag == "" {
		return t.add(ctx, table, e)
	}
	newTag, err := t.replace(ctx, table, e, etag)
	if isEntityNotFound(err) {
		return "", wrapAs("", ErrConflict, err) // wrap names the operation
	}
	return newTag, err
}

// DeleteCursor deletes the cursor of stream name; a missing cursor is not
// an error.
func (t *Tables) DeleteCursor(ctx context.Context, name string) error {
	return wrap(fmt.Sprintf("delete cursor %q", name), t.del(ctx, tableCursors, cursorPartition, key(name), ""))
}
