package handlers

import "context"

// pollSignIns is the PollSignIns timer: Service.PollSignIns reads the
// sign-in log since its watermark.
func (s *server) pollSignIns(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.runTimer(ctx, inv, s.svc.PollSignIns)
}
