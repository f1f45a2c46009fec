package signalwire

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// messageStatuses maps SignalWire MessageStatus values (lower-cased) onto
// the message vocabulary (docs/vocabularies.md#provider--normalised-status). "received" and "receiving" are not here:
// they mark inbound messages, which become replies.
var messageStatuses = map[string]string{
	"queued":      schema.MessageQueued,
	"accepted":    schema.MessageQueued,
	"sending":     schema.MessageQueued,
	"sent":        schema.MessageSent,
	"delivered":   schema.MessageDelivered,
	"undelivered": schema.MessageUndelivered,
	"failed":      schema.MessageFailed,
}

// callStatuses maps SignalWire CallStatus values (lower-cased) onto the call
// vocabulary (docs/vocabularies.md#provider--normalised-status).
var callStatuses = map[string]string{
	"queued":      schema.CallInitiated,
	"initiated":   schema.CallInitiated,
	"ringing":     schema.CallRinging,
	"in-progress": schema.CallAnswered,
	"completed":   schema.CallCompleted,
	"busy":        schema.CallBusy,
	"failed":      schema.CallFailed,
	"no-answer":   schema.CallNoAnswer,
	"canceled":    schema.CallCancelled,
}

// recordEventKind is the ProviderStatus of a recording callback, a call
// event that does not change the call's status.
const recordEventKind = "record"

// callProgressSource is the CallbackSource of call status callbacks proper
// (as opposed to recording or voice-request callbacks that merely carry the
// call's current status).
const callProgressSource = "call-progress-events"

// fields is a callback payload: the first value of each parameter.
type fields map[string]string

// get returns the trimmed value of name.
func (f fields) get(name string) string { return strings.TrimSpace(f[name]) }

// first returns the first non-empty value among names.
func (f fields) first(names ...string) string {
	for _, n := range names {
		if v := f.get(n); v != "" {
			return v
		}
	}
	return ""
}

// hasAny reports whether any of names is present, even with an empty value.
func (f fields) hasAny(names ...string) bool {
	for _, n := range names {
		if _, ok := f[n]; ok {
			return true
		}
	}
	return false
}

// Normalise implements provider.Provider (docs/vocabularies.md).
//
// Dedup keys, one per logical provider event:
//
//	signalwire:message:<MessageSid>:<MessageStatus>
//	signalwire:reply:<MessageSid>
//	signalwire:call:<CallSid>:<CallStatus>[:<SequenceNumber>]
//	signalwire:call:<CallSid>:record:<RecordingSid or RecordingUrl>[:<RecordingStatus>]
func (*Provider) Normalise(rec *schema.Record) (schema.Normalised, error) {
	if rec == nil {
		return schema.Normalised{}, provider.Unusable("nil record")
	}
	f, err := payloadFields(rec)
	if err != nil {
		return schema.Normalised{}, err
	}
	base := rowBase{
		rec:        rec,
		receivedAt: rec.ReceivedAt.UTC(),
		occurredAt: providerTime(f.get("Timestamp"), rec.ReceivedAt),
	}
	if sid := f.first("MessageSid", "SmsMessageSid", "SmsSid"); sid != "" {
		return normaliseMessage(base, sid, f)
	}
	if sid := f.get("CallSid"); sid != "" {
		return normaliseCall(base, sid, f), nil
	}
	return schema.Normalised{}, provider.Unusable("payload has neither MessageSid nor CallSid")
}

// rowBase holds what every row of one record shares.
type rowBase struct {
	rec        *schema.Record
	receivedAt time.Time
	occurredAt time.Time // provider time where the payload has one, else receivedAt
}

func normaliseMessage(base rowBase, sid string, f fields) (schema.Normalised, error) {
	rec := base.rec
	rawStatus := f.first("MessageStatus", "SmsStatus")
	status := strings.ToLower(rawStatus)
	if status == "" && !f.hasAny("Body", "From", "To", "NumMedia") {
		return schema.Normalised{}, provider.Unusable("message %s has no MessageStatus and nothing of an inbound message", sid)
	}
	if status == "received" || status == "receiving" || status == "" {
		// An inbound message (docs/vocabularies.md#provider--normalised-status: MessageStatus received or absent;
		// an MMS may carry media and no Body at all). Its status
		// progresses receiving -> received, but it is one reply, so the
		// key omits the status.
		return schema.Normalised{Replies: []schema.Reply{{
			DedupKey:   Name + ":reply:" + sid,
			EventID:    rec.ID,
			Tenant:     rec.Tenant,
			Source:     rec.Source,
			Provider:   rec.Provider,
			ReplyID:    sid,
			From:       f.get("From"),
			To:         f.get("To"),
			Text:       f["Body"], // verbatim: whitespace is the sender's
			OccurredAt: base.occurredAt,
			ReceivedAt: base.receivedAt,
		}}}, nil
	}
	normalised, known := messageStatuses[status]
	if !known {
		normalised = schema.MessageUnknown
	}
	rank, _ := schema.MessageStatusRank(normalised)
	return schema.Normalised{Messages: []schema.MessageEvent{{
		DedupKey:       Name + ":message:" + sid + ":" + rawStatus,
		EventID:        rec.ID,
		Tenant:         rec.Tenant,
		Source:         rec.Source,
		Provider:       rec.Provider,
		MessageID:      sid,
		Status:         normalised,
		StatusRank:     rank,
		ProviderStatus: rawStatus,
		OccurredAt:     base.occurredAt,
		ReceivedAt:     base.receivedAt,
		To:             f.get("To"),
		From:           f.get("From"),
		ErrorCode:      f.get("ErrorCode"),
		ErrorDetail:    f.get("ErrorMessage"),
	}}}, nil
}

// normaliseCall turns a call callback into its timeline rows: a status
// event, a recording event, both (a final status callback of a recorded
// call), or none (a voice request this service does not track).
func normaliseCall(base rowBase, sid string, f fields) schema.Normalised {
	rec := base.rec
	rawStatus := f.get("CallStatus")
	status, known := callStatuses[strings.ToLower(rawStatus)]
	recordingID := f.first("RecordingSid", "RecordingUrl")

	// A recording or <Record> action callback carries the call's current
	// CallStatus without reporting a change of it; a status callback proper
	// says so in CallbackSource, and a final status always is one.
	isStatusEvent := rawStatus != "" && (recordingID == "" ||
		f.get("CallbackSource") == callProgressSource ||
		(known && isFinalCallStatus(status)))

	row := func() schema.CallEvent {
		return schema.CallEvent{
			EventID:    rec.ID,
			Tenant:     rec.Tenant,
			Source:     rec.Source,
			Provider:   rec.Provider,
			CallID:     sid,
			OccurredAt: base.occurredAt,
			ReceivedAt: base.receivedAt,
			To:         f.get("To"),
			From:       f.get("From"),
			Direction:  f.get("Direction"),
		}
	}

	var out schema.Normalised
	if isStatusEvent {
		ev := row()
		ev.DedupKey = Name + ":call:" + sid + ":" + rawStatus
		if seq := f.get("SequenceNumber"); seq != "" {
			ev.DedupKey += ":" + seq
		}
		ev.ProviderStatus = rawStatus
		if known {
			// An unknown CallStatus stays a non-status event (empty Status):
			// the call vocabulary has no "unknown" to rank it with.
			ev.Status = status
		}
		ev.StatusRank, _ = schema.CallStatusRank(ev.Status)
		ev.DurationSeconds = parseSeconds(f.get("CallDuration"))
		ev.Detail = details(f, "ParentCallSid", "ErrorCode", "SipResponseCode", "AnsweredBy")
		out.Calls = append(out.Calls, ev)
	}
	if recordingID != "" {
		ev := row()
		ev.DedupKey = Name + ":call:" + sid + ":" + recordEventKind + ":" + recordingID
		if rs := f.get("RecordingStatus"); rs != "" {
			ev.DedupKey += ":" + rs
		}
		ev.ProviderStatus = recordEventKind
		ev.Detail = details(f, "RecordingSid", "RecordingUrl", "RecordingStatus", "RecordingDuration")
		out.Calls = append(out.Calls, ev)
	}
	return out
}

// isFinalCallStatus reports whether a normalised call status ends the call.
func isFinalCallStatus(status string) bool {
	rank, _ := schema.CallStatusRank(status)
	return rank == 4
}

// details renders the present fields among names as "Name=value" pairs, for
// the call timeline's free-text detail.
func details(f fields, names ...string) string {
	var parts []string
	for _, n := range names {
		if v := f.get(n); v != "" {
			parts = append(parts, n+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// parseSeconds parses a duration in whole seconds; anything else is 0.
func parseSeconds(s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// providerTime parses SignalWire's Timestamp (RFC 2822, e.g. "Thu, 04 Apr
// 2024 18:32:15 +0000"; RFC 3339 is accepted for JSON callbacks) in UTC.
// A missing, unparseable or implausible timestamp falls back to the
// receive time (provider.EventTime): the event is still worth keeping.
func providerTime(s string, receivedAt time.Time) time.Time {
	if s != "" {
		if t, err := mail.ParseDate(s); err == nil {
			return provider.EventTime(t, receivedAt)
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return provider.EventTime(t, receivedAt)
		}
	}
	return receivedAt.UTC()
}

// payloadFields extracts the callback payload (docs/ingest.md#routes): a GET's query, a
// POST's urlencoded or JSON body. The first value of a repeated name wins.
func payloadFields(rec *schema.Record) (fields, error) {
	req := provider.RecordRequest(rec)
	switch {
	case req.Method == http.MethodGet:
		return formFields(req.RawQuery())
	case req.IsForm():
		return formFields(string(req.Body))
	case req.IsJSON():
		return jsonFields(req.Body)
	case req.Header.Get("Content-Type") == "" && len(req.Body) > 0:
		// No content type and not JSON-shaped: SignalWire's default
		// encoding is the form. (A verified body is authenticated either
		// way: scheme B refuses bodies it does not cover.)
		return formFields(string(req.Body))
	case len(req.Body) == 0:
		return nil, provider.Unusable("%s callback without a body", req.Method)
	default:
		return nil, provider.Unusable("body of content type %q is neither urlencoded nor JSON", req.Header.Get("Content-Type"))
	}
}

func formFields(encoded string) (fields, error) {
	params, err := provider.ParseParams(encoded)
	if err != nil {
		return nil, provider.Unusable("urlencoded payload does not parse: %v", err)
	}
	return provider.FirstValues(params), nil
}

// jsonFields reads the top-level scalar members of a JSON object as
// strings (numbers verbatim, so ErrorCode 30008 stays "30008"). Nested
// values and nulls are not fields of a Compatibility API callback and are
// skipped.
func jsonFields(body []byte) (fields, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, provider.Unusable("JSON payload does not decode as an object: %v", err)
	}
	if obj == nil {
		return nil, provider.Unusable("JSON payload is null")
	}
	f := make(fields, len(obj))
	for name, v := range obj {
		switch v := v.(type) {
		case string:
			f[name] = v
		case json.Number:
			f[name] = v.String()
		case bool:
			f[name] = strconv.FormatBool(v)
		}
	}
	return f, nil
}
