// Package webhook reads what Microsoft Graph posts to a change-notification
// or lifecycle-notification URL, without the Graph SDK: it is imported by
// the Functions handlers, which must start fast and never compile
// msgraph-sdk-go (a test asserts the package depends on the standard
// library only).
//
// Parse turns a POSTed body ({"value":[...]}) into Notifications, bounded by
// MaxBody and MaxItems; ClientStateEqual compares a presented clientState
// with the stored one in constant time; ValidationToken extracts the token
// of Graph's validation handshake from a raw query string.
//
// A Notification is also the message the handlers put on the graph-changes
// queue: its JSON form (the struct tags) is flat and carries no clientState
// once the caller has cleared it, so the queue never holds the secret.
package webhook
