package vonage

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Payload kinds, told apart by their identifying fields (Vonage sends no
// "type" discriminator). The first rule that matches wins:
//
//   - message_uuid and status: Messages API status        → MessageEvent
//   - message_uuid, no status: Messages API inbound       → Reply
//   - messageId and status:    SMS API delivery receipt   → MessageEvent
//   - messageId, no status:    SMS API inbound            → Reply
//   - uuid, call_uuid or conversation_uuid: Voice API event → CallEvent
//
// The ids are disjoint between APIs (the SMS API never sends message_uuid,
// the Messages API never messageId, Voice events neither), so the order only
// matters for payloads no Vonage API sends.

// Dedup keys are "vonage:" + kind + ":" + the identity fields of docs/vocabularies.md#identity-and-deduplication joined
// by "|" (a character none of the ids, statuses or timestamps contain):
//
//	vonage:message:<message_uuid>|<status>|<timestamp>
//	vonage:inbound:<message_uuid>|<timestamp>
//	vonage:sms-dlr:<messageId>|<status>|<message-timestamp>|<scts>
//	vonage:sms-inbound:<messageId>|<message-timestamp>
//	vonage:call:<call id>|<status or event kind>|<timestamp>
//
// The raw field values are used, not parsed times, so a retry of the same
// callback (which repeats them byte for byte) gives the same key. When the
// payload has no timestamp at all, a hash of the payload's fields stands in,
// so two different events never collapse into one.

// Messages API statuses (docs/vocabularies.md#provider--normalised-status); any other is "unknown".
var messagesStatus = map[string]string{
	"submitted":     schema.MessageSent,
	"delivered":     schema.MessageDelivered,
	"rejected":      schema.MessageRejected,
	"undeliverable": schema.MessageUndelivered,
	"read":          schema.MessageRead,
}

// SMS API delivery receipt statuses (docs/vocabularies.md#provider--normalised-status); any other is "unknown".
var smsReceiptStatus = map[string]string{
	"accepted":  schema.MessageSent,
	"buffered":  schema.MessageSent,
	"delivered": schema.MessageDelivered,
	"expired":   schema.MessageExpired,
	"failed":    schema.MessageFailed,
	"rejected":  schema.MessageRejected,
	"unknown":   schema.MessageUnknown,
}

// Voice API call statuses (docs/vocabularies.md#call-statuses). Other `status` values (human, machine,
// disconnected, ...) are timeline events that do not change the call status.
var voiceStatus = map[string]string{
	"started":    schema.CallInitiated,
	"ringing":    schema.CallRinging,
	"answered":   schema.CallAnswered,
	"completed":  schema.CallCompleted,
	"busy":       schema.CallBusy,
	"cancelled":  schema.CallCancelled,
	"unanswered": schema.CallNoAnswer,
	"timeout":    schema.CallNoAnswer,
	"rejected":   schema.CallRejected,
	"failed":     schema.CallFailed,
}

// smsErrorText describes SMS API delivery receipt err-code values, as Vonage
// documents them ("SMS Delivery Error Codes").
var smsErrorText = map[string]string{
	"1":  "Unknown",
	"2":  "Absent Subscriber - Temporary",
	"3":  "Absent Subscriber - Permanent",
	"4":  "Call Barred by User",
	"5":  "Portability Error",
	"6":  "Anti-Spam Rejection",
	"7":  "Handset Busy",
	"8":  "Network Error",
	"9":  "Illegal Number",
	"10": "Illegal Message",
	"11": "Unroutable",
	"12": "Destination Unreachable",
	"13": "Subscriber Age Restriction",
	"14": "Number Blocked by Carrier",
	"15": "Pre-Paid - Insufficient Funds",
	"99": "General Error",
}

// Normalise implements provider.Provider. It reads the payload the same way
// verification did (GET query, JSON or urlencoded POST body) and maps it by
// kind (see the kinds above). A payload of no known kind, or one that
// cannot be parsed, is unusable.
func (*Provider) Normalise(rec *schema.Record) (schema.Normalised, error) {
	req := provider.RecordRequest(rec)
	p, err := parsePayload(req)
	if err != nil {
		return schema.Normalised{}, provider.Unusable("vonage payload: %v", err)
	}
	var out schema.Normalised
	switch {
	case p.has("message_uuid") && p.has("status"):
		out.Messages = append(out.Messages, messagesStatusEvent(rec, p))
	case p.has("message_uuid"):
		out.Replies = append(out.Replies, messagesInbound(rec, p))
	case p.has("messageId") && p.has("status"):
		out.Messages = append(out.Messages, smsReceipt(rec, p))
	case p.has("messageId"):
		if !p.has("msisdn") {
			return schema.Normalised{}, provider.Unusable("vonage SMS API payload with messageId but neither status nor msisdn")
		}
		out.Replies = append(out.Replies, smsInbound(rec, p))
	case p.has("uuid") || p.has("call_uuid") || p.has("conversation_uuid"):
		out.Calls = append(out.Calls, voiceEvent(rec, p))
	default:
		return schema.Normalised{}, provider.Unusable(
			"vonage payload has none of message_uuid, messageId, uuid, call_uuid, conversation_uuid")
	}
	return out, nil
}

// messagesStatusEvent maps a Messages API status webhook.
func messagesStatusEvent(rec *schema.Record, p *payload) schema.MessageEvent {
	raw := p.str("status")
	status, ok := messagesStatus[raw]
	if !ok {
		status = schema.MessageUnknown
	}
	ev := messageEvent(rec, p.str("message_uuid"), status, raw)
	ev.OccurredAt = providerTime(rec, p.str("timestamp"), isoLayouts)
	ev.To, ev.From = address(p, "to"), address(p, "from")
	if e := p.object("error"); e != nil {
		// Current payloads: {type, title, detail, instance}, title being
		// the numeric error code; older ones: {code, reason}.
		ev.ErrorCode = firstString(e, "title", "code")
		ev.ErrorDetail = firstString(e, "detail", "reason")
	}
	ev.DedupKey = dedupKey("message", p, "timestamp", ev.MessageID, raw, p.str("timestamp"))
	return ev
}

// messagesInbound maps a Messages API inbound message. A reply on WhatsApp
// and similar channels names the message it answers in context.message_uuid.
func messagesInbound(rec *schema.Record, p *payload) schema.Reply {
	r := reply(rec, p.str("message_uuid"))
	r.From, r.To = address(p, "from"), address(p, "to")
	r.Text = p.str("text")
	if r.Text == "" {
		r.Text = mediaSummary(p)
	}
	if ctx := p.object("context"); ctx != nil {
		r.MessageID = firstString(ctx, "message_uuid")
	}
	r.OccurredAt = providerTime(rec, p.str("timestamp"), isoLayouts)
	r.DedupKey = dedupKey("inbound", p, "timestamp", r.ReplyID, p.str("timestamp"))
	return r
}

// mediaSummary describes a non-text inbound message as "<type>: <url>"
// (plus its caption), so that a reply listing shows something useful.
func mediaSummary(p *payload) string {
	kind := p.str("message_type")
	if kind == "" || kind == "text" {
		return ""
	}
	media := p.object(kind)
	if media == nil {
		return kind
	}
	s := kind
	if u := firstString(media, "url"); u != "" {
		s += ": " + u
	}
	if c := firstString(media, "caption", "name"); c != "" {
		s += " (" + c + ")"
	}
	return s
}

// smsReceipt maps an SMS API delivery receipt. msisdn is the recipient, to
// the sender id. err-code 0 means "no error" and is stored as no error code,
// so that error_code is empty exactly when nothing went wrong.
func smsReceipt(rec *schema.Record, p *payload) schema.MessageEvent {
	raw := p.str("status")
	status, ok := smsReceiptStatus[raw]
	if !ok {
		status = schema.MessageUnknown
	}
	ev := messageEvent(rec, p.str("messageId"), status, raw)
	ev.To, ev.From = p.str("msisdn"), p.str("to")
	ev.OccurredAt = providerTime(rec, p.str("message-timestamp"), smsLayouts)
	if code := strings.TrimSpace(p.str("err-code")); code != "" && code != "0" {
		ev.ErrorCode = code
		ev.ErrorDetail = smsErrorText[code]
	}
	ev.DedupKey = dedupKey("sms-dlr", p, "message-timestamp", ev.MessageID, raw, p.str("message-timestamp"), p.str("scts"))
	return ev
}

// smsInbound maps an SMS API inbound message: msisdn is the sender. Each
// part of a concatenated message has its own messageId and is one reply.
func smsInbound(rec *schema.Record, p *payload) schema.Reply {
	r := reply(rec, p.str("messageId"))
	r.From, r.To = p.str("msisdn"), p.str("to")
	r.Text = p.str("text")
	r.OccurredAt = providerTime(rec, p.str("message-timestamp"), smsLayouts)
	r.DedupKey = dedupKey("sms-inbound", p, "message-timestamp", r.ReplyID, p.str("message-timestamp"))
	return r
}

// voiceEvent maps a Voice API event webhook. The call id is the leg's uuid;
// answering-machine events name it call_uuid. Recording events carry only
// conversation_uuid: they belong to the conversation, not to one leg, so
// their call id stays empty and the call timeline finds them through the
// conversation (storage.Store.Calls); they never make a call of their own.
// A status event without a leg id (not seen from Vonage) keeps the
// conversation as its call id, so that its status is not lost.
func voiceEvent(rec *schema.Record, p *payload) schema.CallEvent {
	raw := p.str("status")
	status, isStatus := voiceStatus[raw]
	kind := raw
	if !isStatus {
		kind = voiceEventKind(p)
		status = ""
	}
	conversation := p.str("conversation_uuid")
	callID := firstParam(p, "uuid", "call_uuid")
	// The dedup key names the conversation where there is no leg, as it
	// did when the conversation stood in as the call id.
	owner := cmp.Or(callID, conversation)
	if isStatus {
		callID = owner
	}
	rank, _ := schema.CallStatusRank(status)
	ev := schema.CallEvent{
		EventID:        rec.ID,
		Tenant:         rec.Tenant,
		Source:         rec.Source,
		Provider:       rec.Provider,
		CallID:         callID,
		ConversationID: conversation,
		Status:         status,
		StatusRank:     rank,
		ProviderStatus: kind,
		OccurredAt:     providerTime(rec, p.str("timestamp"), isoLayouts),
		ReceivedAt:     rec.ReceivedAt.UTC(),
		To:             address(p, "to"),
		From:           address(p, "from"),
		Direction:      p.str("direction"),
		Detail:         voiceDetail(p),
	}
	if status == schema.CallCompleted {
		ev.DurationSeconds = parseSeconds(p.str("duration"))
	}
	ev.DedupKey = dedupKey("call", p, "timestamp", owner, kind, p.str("timestamp"))
	return ev
}

// voiceEventKind names a Voice event that does not change the call status:
// its status when it has one (human, machine, disconnected, ...), else the
// kind its fields reveal.
func voiceEventKind(p *payload) string {
	switch {
	case p.has("status"):
		return p.str("status")
	case p.has("recording_url"):
		return "record"
	case p.has("dtmf") || p.has("speech"):
		return "input"
	case p.has("type"):
		return p.str("type") // transfer, error, ...
	}
	return "event"
}

// voiceDetailFields are the fields summarised in CallEvent.Detail, when
// present: what an operator looks for in a timeline entry.
var voiceDetailFields = []string{
	"recording_url", "recording_uuid", "start_time", "end_time", "size",
	"dtmf", "speech", "conversation_uuid_from", "conversation_uuid_to",
	"sub_state", "reason", "detail", "network", "rate", "price",
}

// maxDetailBytes bounds Detail: speech recognition results can be long.
const maxDetailBytes = 4096

// voiceDetail is a compact JSON object (keys sorted) of the detail fields
// present in p, or "" when none is.
func voiceDetail(p *payload) string {
	fields := map[string]json.RawMessage{}
	for _, name := range voiceDetailFields {
		if v := p.jsonValue(name); v != nil && string(v) != "null" && string(v) != `""` {
			fields[name] = v
		}
	}
	if len(fields) == 0 {
		return ""
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return ""
	}
	if len(b) > maxDetailBytes {
		// Drop the bulky recognition results rather than cut JSON in half.
		delete(fields, "speech")
		if b, err = json.Marshal(fields); err != nil || len(b) > maxDetailBytes {
			return ""
		}
	}
	return string(b)
}

func messageEvent(rec *schema.Record, id, status, providerStatus string) schema.MessageEvent {
	rank, _ := schema.MessageStatusRank(status)
	return schema.MessageEvent{
		EventID:        rec.ID,
		Tenant:         rec.Tenant,
		Source:         rec.Source,
		Provider:       rec.Provider,
		MessageID:      id,
		Status:         status,
		StatusRank:     rank,
		ProviderStatus: providerStatus,
		ReceivedAt:     rec.ReceivedAt.UTC(),
	}
}

func reply(rec *schema.Record, id string) schema.Reply {
	return schema.Reply{
		EventID:    rec.ID,
		Tenant:     rec.Tenant,
		Source:     rec.Source,
		Provider:   rec.Provider,
		ReplyID:    id,
		ReceivedAt: rec.ReceivedAt.UTC(),
	}
}

// dedupKey builds "vonage:<kind>:<id>|<part>|...". When the payload lacks
// its timestamp field (timeField), a digest of the payload is appended, so
// distinct untimed events keep distinct keys.
func dedupKey(kind string, p *payload, timeField string, parts ...string) string {
	var b strings.Builder
	b.WriteString(Name)
	b.WriteByte(':')
	b.WriteString(kind)
	b.WriteByte(':')
	for i, part := range parts {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(part)
	}
	if !p.has(timeField) {
		b.WriteString("|sha256=")
		b.WriteString(payloadDigest(p))
	}
	return b.String()
}

// payloadDigest hashes the payload's fields (sorted, sig/timestamp/nonce
// excluded because a re-signed retry changes them), so it is the same for a
// retry of one callback whatever its encoding.
func payloadDigest(p *payload) string {
	kept := make([]provider.Param, 0, len(p.params))
	for _, kv := range p.params {
		switch kv.Name {
		case paramSig, paramTimestamp, "nonce":
			continue
		}
		kept = append(kept, kv)
	}
	sum := sha256.Sum256([]byte(smsSigningString(kept)))
	return hex.EncodeToString(sum[:8])
}

// address reads a party field: a string, or an object as the Messages API
// v0.1 sent them ({"type":"sms","number":"447700900000"}).
func address(p *payload, name string) string {
	if obj := p.object(name); obj != nil {
		return firstString(obj, "number", "id", "user", "uri")
	}
	return p.str(name)
}

// firstString returns the string form of the first member of obj present
// with a non-empty value.
func firstString(obj map[string]json.RawMessage, names ...string) string {
	for _, n := range names {
		if v, ok := obj[n]; ok {
			if s := scalarString(v); s != "" {
				return s
			}
		}
	}
	return ""
}

func firstParam(p *payload, names ...string) string {
	for _, n := range names {
		if p.has(n) {
			return p.str(n)
		}
	}
	return ""
}

// Provider time layouts. Messages and Voice send ISO 8601 with milliseconds
// and Z or an offset; the SMS API sends "YYYY-MM-DD HH:MM:SS" in UTC.
var (
	isoLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05",
	}
	smsLayouts = []string{"2006-01-02 15:04:05", time.RFC3339Nano}
)

// providerTime parses s with the first layout that fits (a layout without a
// zone means UTC); an absent, unparseable or implausible time falls back
// to the receive time.
func providerTime(rec *schema.Record, s string, layouts []string) time.Time {
	if t, ok := parseProviderTime(s, layouts); ok {
		return t
	}
	return rec.ReceivedAt.UTC()
}

func parseProviderTime(s string, layouts []string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			if !provider.PlausibleTime(t) {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseSeconds reads a Voice duration ("12", sometimes "12.0"); anything
// else is 0.
func parseSeconds(s string) uint32 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 || math.IsNaN(f) || f > math.MaxUint32 {
		return 0
	}
	return uint32(f)
}
