package handlers

import "context"

// deliverAlerts is the DeliverAlerts timer: Service.DeliverAlerts posts the
// pending outbox items to Teams.
func (s *server) deliverAlerts(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.runTimer(ctx, inv, s.svc.DeliverAlerts)
}
