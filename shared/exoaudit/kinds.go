package exoaudit

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Record types (the schema's AuditLogRecordType) and operations the
// package reads.
const (
	recordExchangeAdmin          = 1
	recordExchangeItem           = 2
	recordExchangeItemGroup      = 3
	recordExchangeItemAggregated = 50

	opMailItemsAccessed = "MailItemsAccessed"
)

// kind is one entry of kinds: the records it matches and their decoder,
// which appends the event to the blob and reports whether the record held
// what it needs.
type kind struct {
	recordType int
	operation  string // "" matches every operation of the record type
	decode     func(*record, *Blob) bool
}

// kinds is every record kind the package decodes. A new kind is a line
// here, its decoder, and a case under testdata/decode/.
var kinds = []kind{
	{recordType: recordExchangeAdmin, decode: decodeAdmin},
	{recordType: recordExchangeItemAggregated, operation: opMailItemsAccessed, decode: decodeMailAccess},
	// MailItemsAccessed Sync records have been reported with the per-item
	// and per-group record types.
	{recordType: recordExchangeItem, operation: opMailItemsAccessed, decode: decodeMailAccess},
	{recordType: recordExchangeItemGroup, operation: opMailItemsAccessed, decode: decodeMailAccess},
}

// kindOf finds the table entry of a record, or nil.
func kindOf(r *record) *kind {
	rt := intOf(string(r.RecordType), -1)
	op := strings.TrimSpace(r.Operation)
	for i := range kinds {
		k := &kinds[i]
		if k.recordType == rt && (k.operation == "" || strings.EqualFold(k.operation, op)) {
			return k
		}
	}
	return nil
}

// Bounds on what one record contributes.
const (
	maxParameters = 256
	maxFolders    = 1000
)

func decodeAdmin(r *record, b *Blob) bool {
	t, ok := creationTime(r.CreationTime)
	id := strings.TrimSpace(r.ID)
	cmdlet := strings.TrimSpace(r.Operation)
	if !ok || id == "" || cmdlet == "" {
		return false
	}
	ev := tenant.ExchangeAdminEvent{
		ID:         id,
		Time:       t,
		Cmdlet:     cmdlet,
		Actor:      strings.TrimSpace(r.UserID),
		ActorAppID: strings.TrimSpace(r.AppID),
		ObjectID:   strings.TrimSpace(r.ObjectID),
		Succeeded:  succeeded(r.ResultStatus),
		ClientIP:   clientIP(r.ClientIP),
		External:   boolOf(string(r.ExternalAccess)),
	}
	if ev.ObjectID == "" {
		ev.ObjectID = strings.TrimSpace(r.ModifiedObjectResolvedName)
	}
	for _, p := range r.Parameters[:min(len(r.Parameters), maxParameters)] {
		name := strings.TrimSpace(p.Name)
		if name == "" {
			continue
		}
		ev.Parameters = append(ev.Parameters, tenant.Parameter{Name: name, Value: string(p.Value)})
	}
	b.Admin = append(b.Admin, ev)
	b.Counts.Admin++
	return true
}

func decodeMailAccess(r *record, b *Blob) bool {
	t, ok := creationTime(r.CreationTime)
	id := strings.TrimSpace(r.ID)
	if !ok || id == "" {
		return false
	}
	m := tenant.MailAccess{
		ID:           id,
		Time:         t,
		MailboxOwner: strings.TrimSpace(r.MailboxOwnerUPN),
		MailboxGUID:  strings.TrimSpace(r.MailboxGUID),
		Actor:        strings.TrimSpace(r.UserID),
		AppID:        strings.TrimSpace(r.AppID),
		ClientAppID:  strings.TrimSpace(r.ClientAppID),
		ClientIP:     clientIP(firstNonEmpty(r.ClientIPAddress, r.ClientIP)),
		LogonType:    intOf(string(r.LogonType), -1),
		ClientInfo:   strings.TrimSpace(r.ClientInfoString),
	}
	for _, p := range r.OperationProperties {
		switch {
		case strings.EqualFold(strings.TrimSpace(p.Name), "MailAccessType"):
			m.AccessType = string(p.Value)
		case strings.EqualFold(strings.TrimSpace(p.Name), "IsThrottled"):
			m.Throttled = boolOf(string(p.Value))
		}
	}
	// Items read: the messages the record lists (Bind), else the
	// aggregated operation count (Sync records list none).
	listed := 0
	for _, f := range r.Folders[:min(len(r.Folders), maxFolders)] {
		listed += len(f.FolderItems)
	}
	m.Items = listed
	if m.Items == 0 {
		m.Items = max(intOf(string(r.OperationCount), 0), 0)
	}
	b.MailAccess = append(b.MailAccess, m)
	b.Counts.Mail++
	return true
}

// creationTime reads CreationTime: without a zone suffix it is UTC (the
// API's documented form), with one it is converted.
func creationTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// succeeded reads ResultStatus: True or Succeeded (any case); absent counts
// as success. PartiallySucceeded, False, Failed and anything else do not.
func succeeded(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || strings.EqualFold(s, "True") || strings.EqualFold(s, "Succeeded")
}

// maxIPText bounds an address field that is not an address.
const maxIPText = 64

// clientIP returns the address of a ClientIP value without port, brackets
// or IPv4 mapping; text that is no address comes back trimmed (and cut).
func clientIP(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	if t := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"); t != s {
		if a, err := netip.ParseAddr(t); err == nil {
			return a.Unmap().WithZone("").String()
		}
	}
	if len(s) > maxIPText {
		s = s[:maxIPText]
	}
	return s
}

// boolOf reads a boolean written as true/false, True/False, $true/$false
// or 1/0.
func boolOf(s string) bool {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	return strings.EqualFold(s, "true") || s == "1"
}

// ParseBool reads a cmdlet's boolean parameter value as Exchange records it
// ("True", "False", "$true", "1"); ok is false when the value is neither.
func ParseBool(s string) (value, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	switch {
	case strings.EqualFold(s, "true"), s == "1":
		return true, true
	case strings.EqualFold(s, "false"), s == "0":
		return false, true
	}
	return false, false
}

// intOf reads an integer written as a number or a string, or def.
func intOf(s string, def int) int {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= -1e9 && f <= 1e9 {
		return int(f)
	}
	return def
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
