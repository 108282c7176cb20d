package handlers

import (
	"context"
	"fmt"
	"log/slog"
)

// runTimer is the body of every timer function: read the timer info (only
// to log it: the tick itself is what matters, so unreadable timer data is
// logged and the run goes ahead), then call the Service. An error fails the
// invocation; the host does not retry timers, the next tick is the retry.
func (s *server) runTimer(ctx context.Context, inv *invocation, call func(context.Context) error) (InvokeResponse, error) {
	var ti TimerInfo
	raw, ok := inv.req.Data[bindingTimer]
	switch {
	case !ok:
		inv.log.Warn("no timer data in invocation; running anyway")
	default:
		if err := decodeLoose(raw, &ti); err != nil {
			inv.log.Warn("timer data unreadable; running anyway", "err", err)
			ti = TimerInfo{}
		}
	}
	attrs := []any{"past_due", ti.IsPastDue}
	if st := ti.ScheduleStatus; st != nil {
		attrs = append(attrs, "last", st.Last, "next", st.Next)
	}
	level := slog.LevelInfo
	if ti.IsPastDue {
		level = slog.LevelWarn // a missed run: the host was down or the previous run overran
	}
	inv.log.Log(ctx, level, "timer fired", attrs...)
	if err := call(ctx); err != nil {
		return InvokeResponse{}, fmt.Errorf("%s: %w", inv.name, err)
	}
	return InvokeResponse{Logs: []string{fmt.Sprintf("%s completed (past due: %v)", inv.name, ti.IsPastDue)}}, nil
}
