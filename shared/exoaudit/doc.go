// Package exoaudit decodes the Exchange records of the unified audit log,
// as the Office 365 Management Activity API serves them, into the domain
// types detection reads (tenant.ExchangeAdminEvent, tenant.MailAccess).
//
// # Content blobs
//
// The API serves a content type (Audit.Exchange) as content blobs; the body
// of each is a JSON array of records: the common schema (Id, RecordType,
// CreationTime, Operation, OrganizationId, UserId, ClientIP, ResultStatus,
// ObjectId, Workload) plus the fields of the record's type. Decode streams
// the array with encoding/json's Decoder one record at a time, never holding
// the blob as a tree, and is bounded by construction: at most MaxRecords
// records, each at most MaxRecordBytes (a record over the cap ends the
// blob's decoding with ErrRecordTooLarge; what was decoded before it is
// returned).
//
// # Records and events
//
// Each record kind the package reads has one line in an explicit table
// (kinds in kinds.go): its RecordType, the operation when the kind is one
// operation of a type, and its decoder.
//
//   - RecordType 1, ExchangeAdmin: every Exchange admin cmdlet →
//     tenant.ExchangeAdminEvent (Operation is the cmdlet, Parameters the
//     Name/Value pairs it was given, in the record's order).
//   - Operation MailItemsAccessed (RecordType 50, ExchangeItemAggregated,
//     and the per-item RecordType 2 and 3 records some tenants write) →
//     tenant.MailAccess (OperationProperties MailAccessType and IsThrottled,
//     OperationCount, Folders[].FolderItems, AppId, ClientAppId,
//     ClientIPAddress, MailboxOwnerUPN, MailboxGuid, LogonType).
//
// Every other record is counted (Counts.Skipped) and dropped, and so is a
// record of a known kind that does not hold what its decoder needs (no Id,
// no readable CreationTime: Counts.Malformed).
//
// # Quirks the decoders absorb
//
//   - CreationTime has no zone suffix ("2022-10-25T18:23:04") and is UTC;
//     a suffixed time is read too.
//   - ClientIP and ClientIPAddress may carry a port ("203.0.113.7:51234",
//     "[2603:10b6::1]:443") or an IPv4-mapped IPv6 form; the address alone
//     is kept, unmapped. Text that is no address is kept trimmed.
//   - ResultStatus is "True"/"False" for admin cmdlets and
//     "Succeeded"/"PartiallySucceeded"/"Failed" elsewhere; an absent status
//     counts as success (the record exists because the cmdlet ran).
//   - RecordType, LogonType, OperationCount and ExternalAccess may come as
//     numbers, booleans or strings; Parameters and OperationProperties
//     values as strings or scalars. A multi-valued parameter is one Value
//     string as Exchange wrote it ("+MailItemsAccessed;-Update" or
//     "Update;SendAs"): reading the list is the rule's business
//     (AuditActions).
//
// # Untrusted input
//
// Every string is whatever the actor sent. Decoders never panic and drop
// what they cannot read; the fuzz targets in fuzz_test.go hold them to
// that. The package imports only the standard library and shared/tenant.
package exoaudit
