package handlers

import "context"

// graphLifecycle is the GraphLifecycle function: Graph's
// lifecycleNotificationUrl. It is acceptNotifications with the same
// handshake and clientState checks; the valid items (lifecycle events, each
// queued with lifecycleEvent set) go to the same graph-changes queue, where
// ProcessChanges routes them to Service.Lifecycle. A change notification
// that arrives here is authenticated the same way and queued too: dropping
// it would lose a change, and ProcessChanges routes by content, not by URL.
func (s *server) graphLifecycle(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.acceptNotifications(ctx, inv)
}
