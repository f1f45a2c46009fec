package messagemedia

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Dedup-key prefixes. One logical MessageMedia event is one
// delivery_report_id or one reply_id (docs/vocabularies.md#identity-and-deduplication); both are UUIDs minted by
// MessageMedia, so a provider retry, a Kafka redelivery and a replay all give
// the same key.
const (
	dedupPrefixDeliveryReport = Name + ":dr:"
	dedupPrefixReply          = Name + ":reply:"
)

// Normalise turns a verified MessageMedia callback into rows (docs/vocabularies.md):
//
//   - a delivery report (has delivery_report_id) becomes one MessageEvent for
//     message_id, dedup key "messagemedia:dr:<delivery_report_id>";
//   - a reply (has reply_id) becomes one Reply answering message_id, dedup
//     key "messagemedia:reply:<reply_id>".
//
// Provider time is date_received; when absent or unparseable the receive
// time stands in. A payload that is neither, or a delivery report without
// message_id, is unusable (dead-letter).
func (*Provider) Normalise(rec *schema.Record) (schema.Normalised, error) {
	if rec == nil {
		return schema.Normalised{}, provider.Unusable("nil record")
	}
	if rec.BodyTruncated {
		return schema.Normalised{}, provider.Unusable("body was truncated at ingest")
	}
	fields, err := payloadFields(rec)
	if err != nil {
		return schema.Normalised{}, err
	}
	switch {
	case fields["delivery_report_id"] != "":
		return normaliseDeliveryReport(rec, fields)
	case fields["reply_id"] != "":
		return normaliseReply(rec, fields), nil
	default:
		return schema.Normalised{}, provider.Unusable("messagemedia payload has neither delivery_report_id nor reply_id")
	}
}

// normaliseDeliveryReport maps a delivery report.
//
// MessageMedia delivery reports do not name the recipient as such: their
// source_number is documented as the "address from which this delivery
// report was received", i.e. the handset the original message went to, so it
// becomes To. The original sender is not part of the documented payload; a
// destination_number (the address the report was delivered to, present in
// some account templates) becomes From when it is there.
func normaliseDeliveryReport(rec *schema.Record, f map[string]string) (schema.Normalised, error) {
	messageID := f["message_id"]
	if messageID == "" {
		return schema.Normalised{}, provider.Unusable("delivery report %s has no message_id", f["delivery_report_id"])
	}
	providerStatus := f["status"]
	status := MessageStatus(providerStatus)
	rank, _ := schema.MessageStatusRank(status) // MessageStatus only returns vocabulary statuses
	ev := schema.MessageEvent{
		DedupKey:       dedupPrefixDeliveryReport + f["delivery_report_id"],
		EventID:        rec.ID,
		Tenant:         rec.Tenant,
		Source:         rec.Source,
		Provider:       rec.Provider,
		MessageID:      messageID,
		Status:         status,
		StatusRank:     rank,
		ProviderStatus: providerStatus,
		OccurredAt:     providerTime(f["date_received"], rec.ReceivedAt),
		ReceivedAt:     rec.ReceivedAt.UTC(),
		To:             f["source_number"],
		From:           f["destination_number"],
		ErrorCode:      f["error_code"],
	}
	return schema.Normalised{Messages: []schema.MessageEvent{ev}}, nil
}

// normaliseReply maps an inbound reply: source_number sent it to
// destination_number, answering message_id when MessageMedia could match it.
func normaliseReply(rec *schema.Record, f map[string]string) schema.Normalised {
	r := schema.Reply{
		DedupKey:   dedupPrefixReply + f["reply_id"],
		EventID:    rec.ID,
		Tenant:     rec.Tenant,
		Source:     rec.Source,
		Provider:   rec.Provider,
		ReplyID:    f["reply_id"],
		MessageID:  f["message_id"],
		From:       f["source_number"],
		To:         f["destination_number"],
		Text:       f["content"],
		OccurredAt: providerTime(f["date_received"], rec.ReceivedAt),
		ReceivedAt: rec.ReceivedAt.UTC(),
	}
	return schema.Normalised{Replies: []schema.Reply{r}}
}

// MessageStatus maps a MessageMedia message status (case-insensitive) to the
// normalised vocabulary of docs/vocabularies.md#provider--normalised-status; anything else is "unknown".
func MessageStatus(providerStatus string) string {
	switch strings.ToLower(strings.TrimSpace(providerStatus)) {
	case "queued", "scheduled", "processed":
		return schema.MessageQueued
	case "enroute", "submitted":
		return schema.MessageSent
	case "delivered":
		return schema.MessageDelivered
	case "expired":
		return schema.MessageExpired
	case "rejected":
		return schema.MessageRejected
	case "failed", "cancelled":
		return schema.MessageFailed
	case "undeliverable":
		return schema.MessageUndelivered
	}
	return schema.MessageUnknown
}

// providerTime parses date_received (ISO 8601, normally with milliseconds
// and Z). A value without a zone is UTC, as MessageMedia documents its times.
// Anything unparseable or implausible falls back to the receive time
// (provider.EventTime).
func providerTime(value string, receivedAt time.Time) time.Time {
	value = strings.TrimSpace(value)
	if value != "" {
		for _, layout := range [...]string{
			time.RFC3339Nano,
			"2006-01-02T15:04:05.999999999",
			"2006-01-02 15:04:05.999999999Z07:00",
			"2006-01-02 15:04:05.999999999",
		} {
			if t, err := time.Parse(layout, value); err == nil {
				return provider.EventTime(t, receivedAt)
			}
		}
	}
	return receivedAt.UTC()
}

// payloadFields returns the payload's top-level scalar fields as text: the
// query of a GET, an urlencoded form body, or (what MessageMedia actually
// sends) a JSON object. Values are kept exactly (reply text is content).
// Nested objects (metadata, vendor_account_id) are
// skipped; numbers and booleans keep their JSON text; null is empty. For
// repeated form names the first value wins.
func payloadFields(rec *schema.Record) (map[string]string, error) {
	req := provider.RecordRequest(rec)
	if req.Method == http.MethodGet || req.IsForm() {
		params, err := req.PayloadParams()
		if err != nil {
			return nil, provider.Unusable("undecodable urlencoded payload: %v", err)
		}
		return provider.FirstValues(params), nil
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body, &object); err != nil {
		return nil, provider.Unusable("payload is not a JSON object: %v", err)
	}
	if object == nil { // the body was JSON null
		return nil, provider.Unusable("payload is JSON null")
	}
	fields := make(map[string]string, len(object))
	for name, raw := range object {
		if text, ok := scalarText(raw); ok {
			fields[name] = text
		}
	}
	return fields, nil
}

// scalarText renders a JSON scalar as text; ok is false for objects, arrays
// and invalid values.
func scalarText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case '{', '[':
		return "", false
	case 'n':
		return "", true
	default:
		return string(raw), true
	}
}
