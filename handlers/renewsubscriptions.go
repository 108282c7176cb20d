package handlers

import "context"

// renewSubscriptions is the RenewSubscriptions timer (also run at host start:
// runOnStartup): Service.RenewSubscriptions creates missing Graph
// subscriptions and renews those close to expiry.
func (s *server) renewSubscriptions(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.runTimer(ctx, inv, s.svc.RenewSubscriptions)
}
