package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler is a slog.Handler that passes every record's message and
// attribute values through Text before the handler it wraps sees them:
// strings, errors (as their redacted message), fmt.Stringers and any other
// value whose printed form holds a secret. Attributes bound with
// Logger.With are redacted once, when bound. It is the last line of
// defence: adapters return errors that are redacted already.
type Handler struct {
	h slog.Handler
}

// NewHandler returns a Handler writing to h.
func NewHandler(h slog.Handler) *Handler { return &Handler{h: h} }

// Enabled reports whether the wrapped handler handles level.
func (r *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return r.h.Enabled(ctx, level)
}

// Handle redacts rec and hands it on.
func (r *Handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Text(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

// WithAttrs redacts attrs and binds them.
func (r *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = attr(a)
	}
	return &Handler{h: r.h.WithAttrs(clean)}
}

// WithGroup opens a group.
func (r *Handler) WithGroup(name string) slog.Handler {
	return &Handler{h: r.h.WithGroup(name)}
}

// attr returns a with its value redacted. Values that cannot hold text
// (numbers, times, durations, booleans) are kept as they are.
func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Text(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, x := range g {
			clean[i] = attr(x)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case nil:
		case error:
			return slog.String(a.Key, Text(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, Text(x.String()))
		case []byte:
			return slog.String(a.Key, Text(string(x)))
		default:
			// As the text handler prints it; kept as is unless it holds a
			// secret, so that the JSON handler still sees the value.
			s := fmt.Sprintf("%+v", x)
			if t := Text(s); t != s {
				return slog.String(a.Key, t)
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

var _ slog.Handler = (*Handler)(nil)
