package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// RecordVersion is the version of the Kafka record envelope this build
// writes. Readers accept every version up to and including it.
const RecordVersion = 1

// RecordContentType is the Kafka header "content-type" of every record, so
// tooling can tell the envelope version without decoding the value.
const RecordContentType = "application/vnd.hookledger.record.v1+json"

// Kafka headers of every record hookledger writes.
const (
	HeaderContentType = "content-type"       // RecordContentType
	HeaderVerdict     = "hookledger-verdict" // the record's Verdict
	// HeaderForward ("verified") marks an accepted raw-topic record whose
	// copy into the verified topic is the processor's forwarder's job.
	// Records without it were written to both topics by ingest itself
	// (hookledger before the forwarder) and are not forwarded again.
	HeaderForward = "hookledger-forward"
)

// RecordHeaders are the Kafka headers of r as ingest writes it to the raw
// topic.
func RecordHeaders(r *Record) map[string]string {
	h := map[string]string{HeaderContentType: RecordContentType, HeaderVerdict: string(r.Verdict)}
	if r.Verdict == VerdictAccepted {
		h[HeaderForward] = "verified"
	}
	return h
}

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
	Body          []byte `json:"body"`
	BodyBytes     int    `json:"body_bytes"` // size of the body as received, even when Body is a prefix
	BodyTruncated bool   `json:"body_truncated,omitempty"`
}

// ErrRecordVersion is returned for records written by a newer hookledger.
var ErrRecordVersion = errors.New("schema: unsupported record version")

// MarshalRecord encodes r as a Kafka record value.
func MarshalRecord(r *Record) ([]byte, error) {
	if r.Version == 0 {
		r.Version = RecordVersion
	}
	return json.Marshal(r)
}

// UnmarshalRecord decodes a Kafka record value written by any supported
// envelope version.
func UnmarshalRecord(value []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, fmt.Errorf("schema: decode record: %w", err)
	}
	if r.Version < 1 || r.Version > RecordVersion {
		return nil, fmt.Errorf("%w: %d", ErrRecordVersion, r.Version)
	}
	if r.ID == uuid.Nil {
		return nil, errors.New("schema: record has no id")
	}
	return &r, nil
}
