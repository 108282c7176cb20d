// Package notify tells people about new findings in Microsoft Teams, through
// a Workflows webhook ("When a Teams webhook request is received"; Office
// 365 connectors are retired). It has three parts.
//
// Cards: FindingCard renders one finding, IncidentCard a new incident (its
// chain, severity, timeline and entities), FollowUpCard a later step of an
// incident already carded, and DigestCard a digest as a Teams
// message carrying one Adaptive Card 1.4. The body is RichTextBlocks of
// TextRuns only, whose text clients show literally (no Markdown), and every
// string is neutralised first (control, bidi and invisible characters
// removed, Adaptive Cards' {{DATE( and {{TIME( openers removed, URLs
// defanged, lengths bounded); no tenant string becomes a link, the only
// action being "Open report" (CardOptions.ReportURL). A message never
// exceeds MaxPayloadBytes: the builders shorten it until it fits. README's
// "The deployed app" (Teams) says what a reader sees; the golden cards in
// testdata/ and the render test (every card shown by Microsoft's renderer
// in headless Chromium) hold the details.
//
// Outbox (NewOutbox): the pipeline's notification sink. Add turns new findings into
// outbox items (state.OutboxItem): a card for each finding at or above a
// threshold (default high), one digest for the rest; AddDigest enqueues a
// digest; AddIncident enqueues an incident's card under an ID made of the
// incident id and the card's revision (IncidentItemID), so that it is
// never queued twice. Items are stored through OutboxStore.
//
// Delivery: a Sender (NewSender) posts a message to the webhook, at most 4 requests a
// second, and classifies failures as a *DeliveryError (429 with its
// Retry-After, transient, permanent). The webhook URL's sig= parameter is
// the credential: the URL is never logged or put in an error. Deliver
// drains the outbox through DeliveryStore under leases, in order, with
// exponential back-off; a permanently refused alert is retried every
// MaxBackoff and logged at error level, never dropped. Delivery is at least
// once: a reader may see a duplicate card, never a missing one.
package notify
