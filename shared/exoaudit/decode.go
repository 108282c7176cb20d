package exoaudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Default bounds of one content blob.
const (
	// DefaultMaxRecords is the most records Decode reads from one blob.
	DefaultMaxRecords = 100_000
	// DefaultMaxRecordBytes is the largest record Decode reads. Exchange
	// records are a few kilobytes; an aggregated MailItemsAccessed record
	// that lists its items may reach tens.
	DefaultMaxRecordBytes = 1 << 20
)

// Errors Decode returns (wrapped, with the detail); the records decoded
// before the error are returned with it.
var (
	// ErrRecordTooLarge: a record exceeds MaxRecordBytes. The rest of the
	// blob is not read.
	ErrRecordTooLarge = errors.New("audit record too large")
	// ErrTooManyRecords: the blob holds more than MaxRecords records. The
	// rest of the blob is not read.
	ErrTooManyRecords = errors.New("too many audit records in one blob")
	// ErrMalformedBlob: the body is not a JSON array of objects.
	ErrMalformedBlob = errors.New("content blob is not a JSON array of records")
)

// Options bound Decode. The zero value takes the defaults.
type Options struct {
	MaxRecords     int // 0: DefaultMaxRecords
	MaxRecordBytes int // 0: DefaultMaxRecordBytes
}

// Blob is what one content blob decoded to, in record order.
type Blob struct {
	Admin      []tenant.ExchangeAdminEvent
	MailAccess []tenant.MailAccess
	Counts     Counts
}

// Counts says what became of a blob's records.
type Counts struct {
	Records   int // records read
	Admin     int // decoded to ExchangeAdminEvent
	Mail      int // decoded to MailAccess
	Skipped   int // of a kind the package does not read
	Malformed int // of a known kind, without what the decoder needs
}

// Decode reads one content blob body (the API's JSON array of records) from
// r, one record at a time, and decodes the records of the kinds in the
// table. It returns what it decoded together with an error wrapping
// ErrRecordTooLarge, ErrTooManyRecords or ErrMalformedBlob when the body
// breaks a bound or is not an array of records, or the reader's error.
// An empty body or "[]" is an empty blob.
func Decode(r io.Reader, opts *Options) (*Blob, error) {
	o := Options{MaxRecords: DefaultMaxRecords, MaxRecordBytes: DefaultMaxRecordBytes}
	if opts != nil {
		if opts.MaxRecords > 0 {
			o.MaxRecords = opts.MaxRecords
		}
		if opts.MaxRecordBytes > 0 {
			o.MaxRecordBytes = opts.MaxRecordBytes
		}
	}
	b := &Blob{}
	cr := &capReader{r: r}
	dec := json.NewDecoder(cr)
	dec.UseNumber()
	// The decoder reads ahead of the record it is decoding: the cap leaves
	// room for its buffer, so a record is refused somewhere between
	// MaxRecordBytes and MaxRecordBytes+readAhead, never later.
	const readAhead = 64 << 10
	cr.limit = int64(o.MaxRecordBytes) + readAhead
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return b, nil
	}
	if err != nil {
		return b, blobError(cr, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return b, fmt.Errorf("%w: starts with %v", ErrMalformedBlob, tok)
	}
	for dec.More() {
		if b.Counts.Records >= o.MaxRecords {
			return b, fmt.Errorf("%w: more than %d", ErrTooManyRecords, o.MaxRecords)
		}
		start := dec.InputOffset()
		cr.limit = start + int64(o.MaxRecordBytes) + readAhead
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return b, blobError(cr, err)
		}
		if len(raw) > o.MaxRecordBytes {
			return b, fmt.Errorf("%w: record %d is %d bytes (at most %d)", ErrRecordTooLarge, b.Counts.Records+1, len(raw), o.MaxRecordBytes)
		}
		b.Counts.Records++
		b.add(raw)
	}
	if _, err := dec.Token(); err != nil {
		return b, blobError(cr, err)
	}
	// Nothing but white space may follow the array.
	cr.limit = dec.InputOffset() + readAhead
	if tok, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return b, blobError(cr, err)
		}
		return b, fmt.Errorf("%w: %v after the array", ErrMalformedBlob, tok)
	}
	return b, nil
}

// add decodes one record into b.
func (b *Blob) add(raw json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		b.Counts.Malformed++
		return
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		b.Counts.Malformed++
		return
	}
	k := kindOf(&rec)
	if k == nil {
		b.Counts.Skipped++
		return
	}
	if !k.decode(&rec, b) {
		b.Counts.Malformed++
	}
}

// blobError classifies a decoder error: a read past the record cap, a
// syntax or type error (malformed), or the reader's own error.
func blobError(cr *capReader, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case cr.capped:
		return fmt.Errorf("%w: a record exceeds the cap", ErrRecordTooLarge)
	case errors.As(err, &syn), errors.As(err, &typ), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %v", ErrMalformedBlob, err)
	}
	return err
}

// capReader fails a read that would take the input past limit bytes.
type capReader struct {
	r      io.Reader
	n      int64 // bytes read so far
	limit  int64
	capped bool
}

var errCapped = errors.New("record cap reached")

func (c *capReader) Read(p []byte) (int, error) {
	room := c.limit - c.n
	if room <= 0 {
		c.capped = true
		return 0, errCapped
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// record is one audit record: the common schema and the fields of the
// kinds the package reads. Scalars whose JSON type varies are flex.
type record struct {
	ID             string `json:"Id"`
	RecordType     flex   `json:"RecordType"`
	CreationTime   string `json:"CreationTime"`
	Operation      string `json:"Operation"`
	OrganizationID string `json:"OrganizationId"`
	UserID         string `json:"UserId"`
	ClientIP       string `json:"ClientIP"`
	ResultStatus   string `json:"ResultStatus"`
	ObjectID       string `json:"ObjectId"`
	Workload       string `json:"Workload"`
	AppID          string `json:"AppId"`
	ClientAppID    string `json:"ClientAppId"`

	// ExchangeAdmin.
	Parameters                 []nameValue `json:"Parameters"`
	ExternalAccess             flex        `json:"ExternalAccess"`
	ModifiedObjectResolvedName string      `json:"ModifiedObjectResolvedName"`

	// ExchangeItemAggregated (MailItemsAccessed).
	OperationProperties []nameValue `json:"OperationProperties"`
	OperationCount      flex        `json:"OperationCount"`
	Folders             []folder    `json:"Folders"`
	ClientIPAddress     string      `json:"ClientIPAddress"`
	ClientInfoString    string      `json:"ClientInfoString"`
	MailboxOwnerUPN     string      `json:"MailboxOwnerUPN"`
	MailboxGUID         string      `json:"MailboxGuid"`
	LogonType           flex        `json:"LogonType"`
}

// nameValue is a Common.NameValuePair. Value is usually a string; a number
// or boolean is kept as its text.
type nameValue struct {
	Name  string `json:"Name"`
	Value flex   `json:"Value"`
}

// folder is one entry of Folders: the items read in it.
type folder struct {
	Path        string       `json:"Path"`
	FolderItems []folderItem `json:"FolderItems"`
}

type folderItem struct {
	InternetMessageID string `json:"InternetMessageId"`
}

// flex is a scalar whose JSON type varies between records: a string, a
// number or a boolean, kept as text; null, objects and arrays are "".
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(strings.TrimSpace(s))
	case '{', '[', 'n':
		*f = ""
	default: // number, true, false
		*f = flex(b)
	}
	return nil
}
