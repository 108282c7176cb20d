// Package notify tells people about new findings in Microsoft Teams, through
// a Workflows webhook ("When a Teams webhook request is received"; Office
// 365 connectors are retired). It has three parts.
//
// # Cards
//
// FindingCard renders one finding and DigestCard a digest as a Teams message
// carrying one Adaptive Card 1.4 ({"type":"message","attachments":[...]}).
// The body is paragraphs (RichTextBlocks) of TextRuns and nothing else: a
// TextRun's text is shown literally, with no Markdown and no HTML, so
// tenant-controlled and machine values (display names, user principal names,
// certificate names, URLs, object ids, rule ids, dates, evidence) read
// exactly as they are, with no escape for a client to show or hide (Teams'
// clients disagree on Markdown escapes: mobile clients have shown the
// backslashes). TextBlock and FactSet, whose text Teams renders as Markdown,
// are not used; each fact is a "label: value" paragraph. Every string is
// neutralised before it reaches a card:
//
//   - invalid UTF-8 becomes U+FFFD; control characters, bidirectional
//     embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069),
//     directional marks and invisible characters are removed; runs of
//     spaces, tabs and line breaks become one space;
//   - the openers of Adaptive Cards' date/time functions, {{DATE( and
//     {{TIME(, are removed, so tenant text cannot make a client rewrite it;
//   - URLs are defanged, as clients may link bare URLs in any text: "://"
//     becomes "[:]//", "mailto:" "mailto[:]" and "www." "www[.]", lookalike
//     colons, dots and slashes (fullwidth "：", "．", "／" and others)
//     included;
//   - strings are shortened, rune-safely, with an ellipsis.
//
// No tenant string becomes a link: the only action is "Open report", whose
// URL comes from the configuration (CardOptions.ReportURL, https only, or
// http on a loopback host: tenant.IsLoopbackHost). A message never exceeds MaxPayloadBytes
// (Teams refuses messages over about 28 KB): the builders measure the JSON
// and show fewer and shorter evidence lines or digest lines until it fits.
//
// # Outbox
//
// Outbox is the pipeline's notification sink. Add turns new findings into
// outbox items (state.OutboxItem): a card for each finding at or above a
// threshold (default high), one digest for the rest; AddDigest enqueues a
// digest. Items are stored through OutboxStore, an interface satisfied by
// the Table Storage adapter.
//
// # Delivery
//
// Sender posts a message to the webhook, at most 4 requests a second (a
// token bucket shared by every call on the Sender), and classifies failures
// as a *DeliveryError: 429 with its Retry-After, transient (408, 5xx,
// network) or permanent (413 and other 4xx). The webhook URL's sig=
// parameter is the credential, so the URL is never logged or put in an
// error; logs name its host. Deliver drains the outbox through
// DeliveryStore: it claims items under a lease, sends them in order,
// completes the accepted ones and reschedules the rest with exponential
// back-off; a 429 pauses the whole batch. A permanently refused alert is
// retried every MaxBackoff and logged at error level, never dropped.
//
// Delivery is at least once. If Teams accepted a message but the store could
// not record it, a later run posts it again; readers may see a duplicate
// card, never a missing one.
package notify
