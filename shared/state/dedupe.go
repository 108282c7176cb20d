package state

import (
	"fmt"
	"time"
)

// Dedupe is what recording a finding does to its stored record: the dedupe
// decision. DecideDedupe makes it; the store applies it under the record's
// ETag, and decides again when the record changed meanwhile.
type Dedupe int

// Dedupe decisions.
const (
	// DedupeInsert: the finding has no record. Store one with the status
	// of the round that found it, FirstSeen = LastSeen = now. It is new.
	DedupeInsert Dedupe = iota + 1
	// DedupeReopen: the finding's record says resolved (a sweep no longer
	// saw it). Store it again with the round's status, keeping FirstSeen,
	// LastSeen = now. It is new again.
	DedupeReopen
	// DedupeTouch: the finding is recorded and open. LastSeen = now; the
	// status stays (a baseline finding seen by a later round is not
	// alerted, a delivered one not alerted twice). It is not new.
	DedupeTouch
	// DedupeKeep: the finding is recorded and open, and was seen at or
	// after now (a concurrent or later round got there first). Nothing to
	// write. It is not new.
	DedupeKeep
)

// New reports whether the decision makes the finding new: the recording
// round alerts it (or, building a baseline, records it as baseline).
func (d Dedupe) New() bool { return d == DedupeInsert || d == DedupeReopen }

func (d Dedupe) String() string {
	switch d {
	case DedupeInsert:
		return "insert"
	case DedupeReopen:
		return "reopen"
	case DedupeTouch:
		return "touch"
	case DedupeKeep:
		return "keep"
	}
	return fmt.Sprintf("dedupe(%d)", int(d))
}

// DecideDedupe decides what recording a finding seen at now does, from its
// stored record: nil when it has none. Only the record's Status and
// LastSeen matter, so a store may pass a record holding those two alone.
// It is pure: the same record and time give the same decision.
func DecideDedupe(stored *FindingRecord, now time.Time) Dedupe {
	switch {
	case stored == nil:
		return DedupeInsert
	case stored.Status == FindingResolved:
		return DedupeReopen
	case now.After(stored.LastSeen):
		return DedupeTouch
	}
	return DedupeKeep
}

// Resolves reports whether a sweep that began at now and ran the finding's
// rule resolves the stored record: the sweep did not see the finding
// (seen is false), the record is not resolved already, and no round saw
// it after the sweep began. It is pure, like DecideDedupe.
func Resolves(stored FindingRecord, seen bool, now time.Time) bool {
	return !seen && stored.Status != FindingResolved && !stored.LastSeen.After(now)
}
