package handlers

import "context"

// pollDirectory is the PollDirectory timer: Service.PollDirectory reads the
// directory deltas and audit events since the stored cursors.
func (s *server) pollDirectory(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.runTimer(ctx, inv, s.svc.PollDirectory)
}
