package vonage

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

var testEventID = uuid.MustParse("01900000-0000-7000-8000-000000000001")

func record(method, rawQuery, contentType string, body string) *schema.Record {
	u := baseURL
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &schema.Record{
		Version: schema.RecordVersion, ID: testEventID, ReceivedAt: testNow,
		Source: testSource, Provider: Name, Tenant: "acme",
		Method: method, URL: u, Headers: h, Body: []byte(body),
		Verdict: schema.VerdictAccepted,
	}
}

func jsonRecord(body string) *schema.Record {
	return record(http.MethodPost, "", "application/json", body)
}

func messagesStatusBody(status, extra string) string {
	return `{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","to":"447700900000","from":"447700900001",` +
		`"timestamp":"2024-04-04T18:32:10.123Z","status":"` + status + `","channel":"sms"` + extra + `}`
}

func smsReceiptQuery(status, errCode string) string {
	v := url.Values{}
	for _, p := range smsReceiptParams(testNow) {
		v.Set(p.Name, p.Value)
	}
	v.Set("status", status)
	v.Set("err-code", errCode)
	v.Set("sig", "0123456789abcdef0123456789abcdef")
	return v.Encode()
}

func voiceEventJSON(status, extra string) string {
	return `{"from":"447700900000","to":"447700900001","uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356",` +
		`"conversation_uuid":"CON-f972836a-550f-45fa-956c-12a2ab5b7d22","status":"` + status + `","direction":"outbound",` +
		`"timestamp":"2024-04-04T18:32:12.000Z"` + extra + `}`
}

var (
	messagesTime = time.Date(2024, 4, 4, 18, 32, 10, 123e6, time.UTC)
	smsTime      = time.Date(2024, 4, 4, 18, 32, 12, 0, time.UTC)
	voiceTime    = time.Date(2024, 4, 4, 18, 32, 12, 0, time.UTC)
)

func TestNormaliseMessageStatuses(t *testing.T) {
	cases := []struct {
		name                 string
		rec                  *schema.Record
		wantStatus, wantRaw  string
		wantTo, wantFrom     string
		wantCode, wantDetail string
		wantID               string
		wantAt               time.Time
		wantDedupContains    string
	}{
		{"messages submitted", jsonRecord(messagesStatusBody("submitted", "")), schema.MessageSent, "submitted", "447700900000", "447700900001", "", "", "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", messagesTime, "vonage:message:aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab|submitted|2024-04-04T18:32:10.123Z"},
		{"messages delivered", jsonRecord(messagesStatusBody("delivered", `,"usage":{"currency":"EUR","price":"0.0333"}`)), schema.MessageDelivered, "delivered", "447700900000", "447700900001", "", "", "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", messagesTime, "|delivered|"},
		{"messages rejected with error", jsonRecord(messagesStatusBody("rejected", `,"error":{"type":"https://developer.nexmo.com/api-errors/messages-olympus#1320","title":1320,"detail":"Message failed because the number is blocked","instance":"bf0ca0bf-927b-3b52-e161-09e5d0e4ed4a"}`)), schema.MessageRejected, "rejected", "447700900000", "447700900001", "1320", "Message failed because the number is blocked", "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", messagesTime, "|rejected|"},
		{"messages undeliverable", jsonRecord(messagesStatusBody("undeliverable", `,"error":{"code":1300,"reason":"Not part of the provider network"}`)), schema.MessageUndelivered, "undeliverable", "447700900000", "447700900001", "1300", "Not part of the provider network", "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", messagesTime, "|undeliverable|"},
		{"messages read (whatsapp)", jsonRecord(strings.Replace(messagesStatusBody("read", ""), `"sms"`, `"whatsapp"`, 1)), schema.MessageRead, "read", "447700900000", "447700900001", "", "", "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", messagesTime, "|read|"},
		{"messages unknown status", jsonRecord(messagesStatusBody("deleted", "")), schema.MessageUnknown, "deleted", "447700900000", "447700900001", "", "", "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", messagesTime, "|deleted|"},
		{"messages v0.1 object parties", jsonRecord(`{"message_uuid":"m-1","to":{"type":"sms","number":"447700900000"},"from":{"type":"sms","number":"447700900001"},"timestamp":"2024-04-04T18:32:10.123+00:00","status":"delivered"}`), schema.MessageDelivered, "delivered", "447700900000", "447700900001", "", "", "m-1", messagesTime, "vonage:message:m-1|"},
		{"sms dlr accepted", record(http.MethodGet, smsReceiptQuery("accepted", "0"), "", ""), schema.MessageSent, "accepted", "447700900000", "AcmeInc", "", "", "0A0000001234567B", smsTime, "vonage:sms-dlr:0A0000001234567B|accepted|2024-04-04 18:32:12|2404041832"},
		{"sms dlr buffered", record(http.MethodGet, smsReceiptQuery("buffered", "0"), "", ""), schema.MessageSent, "buffered", "447700900000", "AcmeInc", "", "", "0A0000001234567B", smsTime, "|buffered|"},
		{"sms dlr delivered", record(http.MethodGet, smsReceiptQuery("delivered", "0"), "", ""), schema.MessageDelivered, "delivered", "447700900000", "AcmeInc", "", "", "0A0000001234567B", smsTime, "|delivered|"},
		{"sms dlr expired", record(http.MethodGet, smsReceiptQuery("expired", "1"), "", ""), schema.MessageExpired, "expired", "447700900000", "AcmeInc", "1", "Unknown", "0A0000001234567B", smsTime, "|expired|"},
		{"sms dlr failed form POST", record(http.MethodPost, "", "application/x-www-form-urlencoded", smsReceiptQuery("failed", "2")), schema.MessageFailed, "failed", "447700900000", "AcmeInc", "2", "Absent Subscriber - Temporary", "0A0000001234567B", smsTime, "|failed|"},
		{"sms dlr rejected JSON POST", jsonRecord(`{"msisdn":"447700900000","to":"AcmeInc","network-code":"23410","messageId":"0A0000001234567B","price":"0.03330000","status":"rejected","scts":"2404041832","err-code":"6","message-timestamp":"2024-04-04 18:32:12"}`), schema.MessageRejected, "rejected", "447700900000", "AcmeInc", "6", "Anti-Spam Rejection", "0A0000001234567B", smsTime, "|rejected|"},
		{"sms dlr unknown", record(http.MethodGet, smsReceiptQuery("unknown", "99"), "", ""), schema.MessageUnknown, "unknown", "447700900000", "AcmeInc", "99", "General Error", "0A0000001234567B", smsTime, "|unknown|"},
		{"sms dlr unlisted status", record(http.MethodGet, smsReceiptQuery("deleted", "0"), "", ""), schema.MessageUnknown, "deleted", "447700900000", "AcmeInc", "", "", "0A0000001234567B", smsTime, "|deleted|"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New().Normalise(tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Messages) != 1 || len(n.Replies)+len(n.Calls) != 0 {
				t.Fatalf("rows = %+v, want one message event", n)
			}
			ev := n.Messages[0]
			wantRank, _ := schema.MessageStatusRank(tc.wantStatus)
			checks := []struct{ field, got, want string }{
				{"Status", ev.Status, tc.wantStatus},
				{"ProviderStatus", ev.ProviderStatus, tc.wantRaw},
				{"MessageID", ev.MessageID, tc.wantID},
				{"To", ev.To, tc.wantTo},
				{"From", ev.From, tc.wantFrom},
				{"ErrorCode", ev.ErrorCode, tc.wantCode},
				{"ErrorDetail", ev.ErrorDetail, tc.wantDetail},
				{"Tenant", ev.Tenant, "acme"},
				{"Source", ev.Source, testSource},
				{"Provider", ev.Provider, Name},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
				}
			}
			if ev.StatusRank != wantRank || ev.EventID != testEventID || !ev.ReceivedAt.Equal(testNow) {
				t.Errorf("rank %d event %s received %v", ev.StatusRank, ev.EventID, ev.ReceivedAt)
			}
			if !ev.OccurredAt.Equal(tc.wantAt) || ev.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt = %v, want %v UTC", ev.OccurredAt, tc.wantAt)
			}
			if !strings.Contains(ev.DedupKey, tc.wantDedupContains) {
				t.Errorf("DedupKey %q does not contain %q", ev.DedupKey, tc.wantDedupContains)
			}
		})
	}
}

func TestNormaliseReplies(t *testing.T) {
	inboundForm := url.Values{}
	for _, p := range smsInboundParams(testNow) {
		inboundForm.Set(p.Name, p.Value)
	}
	inboundForm.Set("sig", "abc")
	cases := []struct {
		name                                  string
		rec                                   *schema.Record
		wantID, wantAnswers, wantFrom, wantTo string
		wantText                              string
		wantAt                                time.Time
		wantDedup                             string
	}{
		{"messages inbound text", jsonRecord(`{"channel":"sms","message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","to":"447700900000","from":"447700900001","timestamp":"2024-04-04T18:32:10.123Z","text":"Hello From Vonage!","sms":{"num_messages":"1"},"usage":{"price":"0.0057","currency":"EUR"},"message_type":"text"}`),
			"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", "", "447700900001", "447700900000", "Hello From Vonage!", messagesTime,
			"vonage:inbound:aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab|2024-04-04T18:32:10.123Z"},
		{"messages inbound whatsapp image replying", jsonRecord(`{"channel":"whatsapp","message_uuid":"w-1","to":"447700900000","from":"447700900001","timestamp":"2024-04-04T18:32:10.123Z","message_type":"image","image":{"url":"https://api.nexmo.com/v3/media/aaaa","caption":"our dog"},"context":{"message_uuid":"orig-1","message_from":"447700900000"}}`),
			"w-1", "orig-1", "447700900001", "447700900000", "image: https://api.nexmo.com/v3/media/aaaa (our dog)", messagesTime, "vonage:inbound:w-1|"},
		{"sms inbound GET", record(http.MethodGet, inboundForm.Encode(), "", ""),
			"1600000000DEAD01", "", "447700900000", "447700900001", "Yes please & thank you = 100%", time.Date(2024, 4, 4, 18, 32, 11, 0, time.UTC),
			"vonage:sms-inbound:1600000000DEAD01|2024-04-04 18:32:11"},
		{"sms inbound JSON without time", jsonRecord(`{"msisdn":"447700900000","to":"447700900001","messageId":"1600000000DEAD02","text":"hi","type":"text"}`),
			"1600000000DEAD02", "", "447700900000", "447700900001", "hi", testNow, "vonage:sms-inbound:1600000000DEAD02||sha256="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New().Normalise(tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Replies) != 1 || len(n.Messages)+len(n.Calls) != 0 {
				t.Fatalf("rows = %+v, want one reply", n)
			}
			r := n.Replies[0]
			if r.ReplyID != tc.wantID || r.MessageID != tc.wantAnswers || r.From != tc.wantFrom || r.To != tc.wantTo || r.Text != tc.wantText {
				t.Errorf("reply = %+v", r)
			}
			if !r.OccurredAt.Equal(tc.wantAt) || !r.ReceivedAt.Equal(testNow) || r.EventID != testEventID || r.Tenant != "acme" || r.Provider != Name {
				t.Errorf("reply times/ids = %+v", r)
			}
			if !strings.HasPrefix(r.DedupKey, tc.wantDedup) {
				t.Errorf("DedupKey %q, want prefix %q", r.DedupKey, tc.wantDedup)
			}
		})
	}
}

func TestNormaliseCallEvents(t *testing.T) {
	const leg = "63f61863-4a51-4f6b-86e1-46edebcf9356"
	const conv = "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
	cases := []struct {
		name                     string
		rec                      *schema.Record
		wantStatus, wantProvider string
		wantCall                 string
		wantDuration             uint32
		wantDetail               string // substring
	}{
		{"started", jsonRecord(voiceEventJSON("started", "")), schema.CallInitiated, "started", leg, 0, ""},
		{"ringing", jsonRecord(voiceEventJSON("ringing", "")), schema.CallRinging, "ringing", leg, 0, ""},
		{"answered", jsonRecord(voiceEventJSON("answered", "")), schema.CallAnswered, "answered", leg, 0, ""},
		{"completed", jsonRecord(voiceEventJSON("completed", `,"start_time":"2024-04-04T18:31:59.000Z","end_time":"2024-04-04T18:32:12.000Z","duration":"13","rate":"0.00450000","price":"0.00097500","network":"23410"`)), schema.CallCompleted, "completed", leg, 13, `"price":"0.00097500"`},
		{"busy", jsonRecord(voiceEventJSON("busy", "")), schema.CallBusy, "busy", leg, 0, ""},
		{"cancelled", jsonRecord(voiceEventJSON("cancelled", "")), schema.CallCancelled, "cancelled", leg, 0, ""},
		{"unanswered", jsonRecord(voiceEventJSON("unanswered", "")), schema.CallNoAnswer, "unanswered", leg, 0, ""},
		{"timeout", jsonRecord(voiceEventJSON("timeout", "")), schema.CallNoAnswer, "timeout", leg, 0, ""},
		{"rejected", jsonRecord(voiceEventJSON("rejected", "")), schema.CallRejected, "rejected", leg, 0, ""},
		{"failed", jsonRecord(voiceEventJSON("failed", `,"detail":"cannot_route"`)), schema.CallFailed, "failed", leg, 0, `"detail":"cannot_route"`},
		{"ringing via GET", record(http.MethodGet, voiceRingingQuery, "", ""), schema.CallRinging, "ringing", leg, 0, ""},
		{"disconnected is not a status", jsonRecord(voiceEventJSON("disconnected", "")), "", "disconnected", leg, 0, ""},
		{"machine detection", jsonRecord(`{"call_uuid":"` + leg + `","conversation_uuid":"` + conv + `","status":"machine","sub_state":"beep_start","timestamp":"2024-04-04T18:32:12.000Z"}`), "", "machine", leg, 0, `"sub_state":"beep_start"`},
		{"human detection", jsonRecord(`{"call_uuid":"` + leg + `","status":"human","timestamp":"2024-04-04T18:32:12.000Z"}`), "", "human", leg, 0, ""},
		{"record", jsonRecord(`{"start_time":"2024-04-04T18:31:00Z","recording_url":"https://api.nexmo.com/v1/files/bbbbbbbb-aaaa-cccc-dddd-0123456789ab","size":12222,"recording_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","end_time":"2024-04-04T18:32:00Z","conversation_uuid":"` + conv + `","timestamp":"2024-04-04T18:32:12.000Z"}`), "", "record", "", 0, `"recording_url":"https://api.nexmo.com/v1/files/bbbbbbbb-aaaa-cccc-dddd-0123456789ab","recording_uuid"`},
		{"input", jsonRecord(`{"from":"447700900000","to":"447700900001","dtmf":{"digits":"42","timed_out":true},"uuid":"` + leg + `","conversation_uuid":"` + conv + `","timestamp":"2024-04-04T18:32:12.000Z"}`), "", "input", leg, 0, `"dtmf":{"digits":"42","timed_out":true}`},
		{"transfer", jsonRecord(`{"conversation_uuid_from":"CON-1","conversation_uuid_to":"CON-2","uuid":"` + leg + `","timestamp":"2024-04-04T18:32:12.000Z","type":"transfer"}`), "", "transfer", leg, 0, `"conversation_uuid_to":"CON-2"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New().Normalise(tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Calls) != 1 || len(n.Messages)+len(n.Replies) != 0 {
				t.Fatalf("rows = %+v, want one call event", n)
			}
			ev := n.Calls[0]
			wantRank, _ := schema.CallStatusRank(tc.wantStatus)
			if ev.Status != tc.wantStatus || ev.StatusRank != wantRank || ev.ProviderStatus != tc.wantProvider || ev.CallID != tc.wantCall {
				t.Errorf("status %q rank %d provider %q call %q", ev.Status, ev.StatusRank, ev.ProviderStatus, ev.CallID)
			}
			if ev.DurationSeconds != tc.wantDuration {
				t.Errorf("duration %d, want %d", ev.DurationSeconds, tc.wantDuration)
			}
			if !strings.Contains(ev.Detail, tc.wantDetail) {
				t.Errorf("detail %q does not contain %q", ev.Detail, tc.wantDetail)
			}
			if tc.wantDetail == "" && ev.Detail != "" {
				t.Errorf("unexpected detail %q", ev.Detail)
			}
			at := voiceTime
			if tc.name == "ringing via GET" {
				at = time.Date(2024, 4, 4, 18, 32, 10, 0, time.UTC)
			}
			if !ev.OccurredAt.Equal(at) {
				t.Errorf("OccurredAt %v, want %v", ev.OccurredAt, at)
			}
			owner := tc.wantCall
			if owner == "" { // a conversation-level event is keyed by its conversation
				owner = ev.ConversationID
			}
			wantKey := "vonage:call:" + owner + "|" + tc.wantProvider + "|"
			if !strings.HasPrefix(ev.DedupKey, wantKey) {
				t.Errorf("DedupKey %q, want prefix %q", ev.DedupKey, wantKey)
			}
		})
	}
	// Fields common to leg events.
	n, _ := New().Normalise(jsonRecord(voiceEventJSON("answered", "")))
	ev := n.Calls[0]
	if ev.ConversationID != conv || ev.Direction != "outbound" || ev.From != "447700900000" || ev.To != "447700900001" ||
		ev.Tenant != "acme" || ev.Source != testSource || ev.Provider != Name || ev.EventID != testEventID {
		t.Errorf("call event = %+v", ev)
	}
}

func TestNormaliseUnusable(t *testing.T) {
	cases := map[string]*schema.Record{
		"empty object":                 jsonRecord(`{}`),
		"not JSON":                     jsonRecord(`{"message_uuid":`),
		"JSON array":                   jsonRecord(`[{"message_uuid":"x"}]`),
		"plain text body":              record(http.MethodPost, "", "text/plain", "status=delivered"),
		"sms id without status/msisdn": record(http.MethodGet, "messageId=1&text=hi", "", ""),
		"bad query escape":             record(http.MethodGet, "messageId=%zz", "", ""),
		"unrelated fields":             record(http.MethodGet, "foo=bar", "", ""),
	}
	for name, rec := range cases {
		if _, err := New().Normalise(rec); !errors.Is(err, provider.ErrUnusable) {
			t.Errorf("%s: err = %v, want ErrUnusable", name, err)
		}
	}
}

// A provider retry repeats the callback, re-signed: a new sig, timestamp
// and nonce for the SMS API, a new JWT for the others. It must map to the
// same dedup key; a different event must not.
func TestNormaliseDedupKeys(t *testing.T) {
	key := func(rec *schema.Record) string {
		t.Helper()
		n, err := New().Normalise(rec)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(n.Messages) == 1:
			return n.Messages[0].DedupKey
		case len(n.Replies) == 1:
			return n.Replies[0].DedupKey
		case len(n.Calls) == 1:
			return n.Calls[0].DedupKey
		}
		t.Fatalf("no row: %+v", n)
		return ""
	}
	resigned := func(ts time.Time, status string) string {
		p := smsReceiptParams(ts)
		p[5].Value = status
		return mustSMS(t, "md5hash", testSecret, p)
	}
	first := key(record(http.MethodGet, resigned(testNow, "delivered"), "", ""))
	if key(record(http.MethodGet, resigned(testNow.Add(time.Minute), "delivered"), "", "")) != first {
		t.Error("re-signed SMS receipt retry has another key")
	}
	if key(record(http.MethodPost, "", "application/x-www-form-urlencoded", resigned(testNow, "delivered"))) != first {
		t.Error("the same receipt by form POST has another key")
	}
	if key(record(http.MethodGet, resigned(testNow, "failed"), "", "")) == first {
		t.Error("another status shares the key")
	}
	if key(jsonRecord(messagesStatusBody("delivered", ""))) != key(jsonRecord(messagesStatusBody("delivered", `,"client_ref":"x"`))) {
		t.Error("Messages status key depends on more than id+status+timestamp")
	}
	if key(jsonRecord(voiceEventJSON("answered", ""))) == key(jsonRecord(voiceEventJSON("completed", ""))) {
		t.Error("voice statuses share a key")
	}
	a := key(jsonRecord(`{"msisdn":"1","to":"2","messageId":"X","text":"a"}`))
	b := key(jsonRecord(`{"msisdn":"1","to":"2","messageId":"X","text":"b"}`))
	if a == b {
		t.Error("untimed payloads with different content share a key")
	}
}

func TestParseProviderTime(t *testing.T) {
	cases := map[string]time.Time{
		"2024-04-04T18:32:10.123Z":      messagesTime,
		"2024-04-04T18:32:10.123+00:00": messagesTime,
		"2024-04-04T20:32:10.123+0200":  messagesTime,
		"2024-04-04T18:32:10.123":       messagesTime,
		"2024-04-04 18:32:12":           smsTime,
	}
	for in, want := range cases {
		got, ok := parseProviderTime(in, isoLayouts)
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%q -> %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "0001-01-01T00:00:00Z", "9999-01-01T00:00:00Z", "2024-13-01 00:00:00"} {
		if _, ok := parseProviderTime(bad, isoLayouts); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
