// Package blobstore is the app's Blob Storage adapter (Azurite locally),
// next to shared/store, which keeps its state in Table Storage. A Container
// is one private container: the daily sweep writes its dated reports into
// one (WriteReports uploads what shared/report renders, under YYYY/MM/DD/),
// and the app reads a Service Tags file from another (Get). It trades in
// plain values and shared/report types; no azblob type crosses its API.
//
// # Bounds
//
// Get reads at most ContainerOptions.MaxGet bytes (default DefaultMaxGet,
// 64 MiB) and refuses a larger blob; List reads the service's pages until
// it says there are no more. Every call ends with its context.
//
// # Errors
//
// Errors are one line ("blobstore: read config/ServiceTags.json: not found:
// 404 Not Found (BlobNotFound)"). They wrap tenant.ErrNotFound for a
// missing blob or container, tenant.ErrUnreachable when the storage gave no
// answer at all, and the cause, such as the service's *azcore.ResponseError,
// which errors.As still finds. No error and no report URL shows a secret: a
// service answer is rendered as its status and error code, a transport
// error through shared/redact (its URL carries the SAS of a SAS connection
// string), and report URLs carry no query.
package blobstore
