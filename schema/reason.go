package schema

// Verdict says whether ingest accepted a callback as genuine.
type Verdict string

const (
	VerdictAccepted Verdict = "accepted"
	VerdictRejected Verdict = "rejected"
)

// Reason is why a callback was rejected. The set is fixed: it is what
// operators filter on in ClickHouse and in the query API, so a new reason is
// a contract change.
type Reason string

// The rejection reasons, in the order ingest checks them (docs/ingest.md#rejection-reasons-and-their-precedence): when
// several apply, the first one listed wins.
const (
	ReasonUnknownSource        Reason = "unknown_source"
	ReasonMethodNotAllowed     Reason = "method_not_allowed"
	ReasonBodyTooLarge         Reason = "body_too_large"
	ReasonMissingSignature     Reason = "missing_signature"
	ReasonMalformed            Reason = "malformed"
	ReasonUnsupportedAlgorithm Reason = "unsupported_algorithm"
	ReasonUnknownKey           Reason = "unknown_key"
	ReasonBadSignature         Reason = "bad_signature"
	ReasonPayloadHashMismatch  Reason = "payload_hash_mismatch"
	ReasonStaleTimestamp       Reason = "stale_timestamp"
	ReasonReplayed             Reason = "replayed"
)

// Reasons lists every rejection reason in precedence order.
var Reasons = []Reason{
	ReasonUnknownSource, ReasonMethodNotAllowed, ReasonBodyTooLarge,
	ReasonMissingSignature, ReasonMalformed, ReasonUnsupportedAlgorithm,
	ReasonUnknownKey, ReasonBadSignature, ReasonPayloadHashMismatch,
	ReasonStaleTimestamp, ReasonReplayed,
}

// Valid reports whether r is one of the fixed reasons.
func (r Reason) Valid() bool {
	for _, known := range Reasons {
		if r == known {
			return true
		}
	}
	return false
}
