package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// RecordVersion is the version of the Kafka record format this build
// writes. Readers accept every version up to and including it:
//
//   - v2 (RecordContentType): the Kafka value is the request body, byte
//     for byte; everything else about the request is JSON (the Record
//     without its body) in the Kafka header HeaderRecord. A record is the
//     body plus a small overhead, and a reader decodes no base64.
//   - v1 (RecordContentTypeV1, or no content-type): the Kafka value is the
//     whole Record as JSON, the body base64-encoded.
const RecordVersion = 2

// Content types (Kafka header HeaderContentType) of the record versions.
const (
	RecordContentType   = "application/vnd.hookledger.record.v2"
	RecordContentTypeV1 = "application/vnd.hookledger.record.v1+json"
)

// Kafka headers of every record hookledger writes.
const (
	HeaderContentType = "content-type"       // RecordContentType
	HeaderRecord      = "hookledger-record"  // v2: the Record without its body, as JSON
	HeaderVerdict     = "hookledger-verdict" // the record's Verdict
	// HeaderForward ("verified") marks an accepted raw-topic record whose
	// copy into the verified topic is the processor's forwarder's job.
	// Records without it were written to both topics by ingest itself
	// (hookledger before the forwarder) and are not forwarded again.
	HeaderForward = "hookledger-forward"
)

// ToForward reports whether a raw-topic record with headers h is to be
// copied into the verified topic: accepted and marked by HeaderForward.
func ToForward(h map[string]string) bool {
	return h[HeaderForward] == "verified" && h[HeaderVerdict] == string(VerdictAccepted)
}

// Record is one HTTP request received by ingest, exactly as it arrived, plus
// what ingest decided about it. Ingest writes every Record to the raw
// topic; the processor's forwarder copies accepted ones, same key and
// bytes, to the verified topic.
//
// Invariant: Body holds the request body byte-exact (it is never
// re-serialised); for a rejection whose body was over the limit it holds a
// bounded prefix and BodyTruncated is true.
type Record struct {
	Version    int         `json:"v"`
	ID         uuid.UUID   `json:"id"` // UUIDv7 assigned at ingest
	ReceivedAt time.Time   `json:"received_at"`
	Source     string      `json:"source"`
	Provider   string      `json:"provider"`
	Tenant     string      `json:"tenant"`
	Method     string      `json:"method"`
	URL        string      `json:"url"` // the URL the provider signed, as reconstructed by ingest
	RemoteAddr string      `json:"remote_addr"`
	Headers    http.Header `json:"headers"`
	Verdict    Verdict     `json:"verdict"`
	Reason     Reason      `json:"reason,omitempty"`
	// Detail is the operator diagnosis of a rejection (URL variants tried,
	// near misses). It never reaches the HTTP answer.
	Detail        string `json:"detail,omitempty"`
	KeyID         string `json:"key_id,omitempty"` // which configured key verified an accepted record
	Body          []byte `json:"body,omitempty"`   // v1 only: v2 carries it as the Kafka value
	BodyBytes     int    `json:"body_bytes"`       // size of the body as received, even when Body is a prefix
	BodyTruncated bool   `json:"body_truncated,omitempty"`
}

// RecordEnvelopeBytes bounds what a record holds besides its body: its
// metadata header (URL, request headers, diagnosis and the fixed fields
// as JSON) and the other Kafka headers. Providers send a few hundred
// bytes of them; a request whose record outgrows MaxRecordBytes anyway
// (enormous headers) is refused by ingest as too large rather than sent
// to a broker that cannot take it.
const RecordEnvelopeBytes = 256 << 10

// MaxRecordBytes is the size (RecordBytes) of the largest record ingest
// writes for a body of at most maxBody bytes. Topics and producers are
// sized from it, so every body ingest accepts fits in a Kafka message.
func MaxRecordBytes(maxBody int64) int64 { return maxBody + RecordEnvelopeBytes }

// RecordBytes is the size of an encoded record as Kafka counts it,
// framing aside: its value and its headers' names and values.
func RecordBytes(value []byte, headers map[string]string) int64 {
	n := int64(len(value))
	for k, v := range headers {
		n += int64(len(k) + len(v))
	}
	return n
}

// ErrRecordVersion is returned for records written by a newer hookledger.
var ErrRecordVersion = errors.New("schema: unsupported record version")

// EncodeRecord returns the Kafka value and headers of r in the current
// format (v2), as ingest writes it to the raw topic: the value is r.Body
// itself (not a copy).
func EncodeRecord(r *Record) (value []byte, headers map[string]string, err error) {
	b, err := marshalMeta(r)
	if err != nil {
		return nil, nil, fmt.Errorf("schema: encode record: %w", err)
	}
	headers = map[string]string{HeaderContentType: RecordContentType, HeaderRecord: string(b), HeaderVerdict: string(r.Verdict)}
	if r.Verdict == VerdictAccepted {
		headers[HeaderForward] = "verified"
	}
	return r.Body, headers, nil
}

// DecodeRecord decodes a Kafka record of any supported version from its
// value and headers. The returned Body aliases value.
func DecodeRecord(value []byte, headers map[string]string) (*Record, error) {
	switch ct := headers[HeaderContentType]; ct {
	case RecordContentType:
		return decodeV2(value, headers[HeaderRecord])
	case RecordContentTypeV1, "":
		return UnmarshalRecord(value)
	default:
		return nil, fmt.Errorf("%w: content-type %q", ErrRecordVersion, ct)
	}
}

func decodeV2(value []byte, meta string) (*Record, error) {
	if meta == "" {
		return nil, fmt.Errorf("schema: decode record: no %s header", HeaderRecord)
	}
	var r Record
	if !parseMeta(meta, &r) {
		r = Record{}
		if err := json.Unmarshal([]byte(meta), &r); err != nil {
			return nil, fmt.Errorf("schema: decode record: %w", err)
		}
	}
	if r.Version != 2 {
		return nil, fmt.Errorf("%w: %d in a v2 record", ErrRecordVersion, r.Version)
	}
	if r.ID == uuid.Nil {
		return nil, errors.New("schema: record has no id")
	}
	if r.Body != nil {
		return nil, errors.New("schema: decode record: v2 metadata carries a body")
	}
	r.Body = value
	return &r, nil
}

// UnmarshalRecord decodes a v1 Kafka record value (the whole Record as
// JSON).
func UnmarshalRecord(value []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, fmt.Errorf("schema: decode record: %w", err)
	}
	if r.Version != 1 {
		return nil, fmt.Errorf("%w: %d in a v1 record", ErrRecordVersion, r.Version)
	}
	if r.ID == uuid.Nil {
		return nil, errors.New("schema: record has no id")
	}
	return &r, nil
}
