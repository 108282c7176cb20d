package store_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
)

func TestCursorLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newClock(t0)
	st := open(t, nil, clk)

	names := append([]string{"delta-users", "audits"}, hostileKeys()...)
	for _, name := range names {
		t.Run(name[:min(len(name), 20)], func(t *testing.T) {
			clk.Set(t0)
			c, err := st.Cursor(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(state.Cursor{Name: name}, c); diff != "" || c.Exists() {
				t.Fatalf("missing cursor (-want +got):\n%s", diff)
			}

			c.DeltaLink = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=" + name
			c.Watermark = time.Date(2026, 2, 28, 23, 59, 59, 123456789, time.UTC)
			saved, err := st.SaveCursor(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if saved.ETag == "" || !saved.UpdatedAt.Equal(t0) {
				t.Fatalf("saved: ETag %q, UpdatedAt %v; want an ETag and UpdatedAt %v", saved.ETag, saved.UpdatedAt, t0)
			}
			got, err := st.Cursor(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			want := saved
			want.Watermark = c.Watermark.Truncate(100 * time.Nanosecond) // the service's precision
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("read back (-want +got):\n%s", diff)
			}

			// Inserting again loses to the existing row (409).
			_, err = st.SaveCursor(ctx, c)
			wantConflict(t, err, http.StatusConflict)

			// Replacing under the current ETag works and moves the ETag.
			clk.Set(t0.Add(time.Minute))
			got.DeltaLink += "&next"
			second, err := st.SaveCursor(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			if second.ETag == got.ETag || !second.UpdatedAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("second save: ETag %q (first %q), UpdatedAt %v", second.ETag, got.ETag, second.UpdatedAt)
			}
			// The first reader's ETag is stale now (412).
			_, err = st.SaveCursor(ctx, got)
			wantConflict(t, err, http.StatusPreconditionFailed)

			if err := st.DeleteCursor(ctx, name); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteCursor(ctx, name); err != nil {
				t.Fatalf("deleting a missing cursor: %v", err)
			}
			// Replacing a cursor deleted meanwhile is a conflict too.
			_, err = st.SaveCursor(ctx, second)
			wantConflict(t, err, http.StatusNotFound)
			c, err = st.Cursor(ctx, name)
			if err != nil || c.Exists() {
				t.Fatalf("after delete: exists %v, %v", c.Exists(), err)
			}
		})
	}
}

func TestCursorValidation(t *testing.T) {
	t.Parallel()
	st := open(t, nil, nil)
	if _, err := st.Cursor(t.Context(), ""); err == nil {
		t.Error("Cursor(\"\") succeeded")
	}
	if _, err := st.SaveCursor(t.Context(), state.Cursor{}); err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveCursor without name = %v", err)
	}
}
