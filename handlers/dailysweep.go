package handlers

import "context"

// dailySweep is the DailySweep timer: Service.DailySweep runs the full
// daily scan.
func (s *server) dailySweep(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.runTimer(ctx, inv, s.svc.DailySweep)
}
