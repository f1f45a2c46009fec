package loadgen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/messagemedia"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
)

// Kind is what a callback reports on, and so where the query API shows it.
type Kind string

// Kinds of tracked objects.
const (
	KindMessage Kind = "message"
	KindCall    Kind = "call"
)

// Request is one signed callback, prepared before it is sent so that the
// client's signing cost (RSA above all) is not paid during measurement.
type Request struct {
	Method string
	// Path is /hooks/{source} plus its raw query, sent to the ingest base
	// (the baseline gets the same bytes on its own port).
	Path   string
	Header http.Header
	Body   []byte
	Acked
}

// Acked is what the correctness check needs of an acknowledged request
// (a copy, so the prepared requests can be freed after their phase).
type Acked struct {
	// ID is the message or call id the callback reports on; unique per run.
	ID       string
	Kind     Kind
	Provider string
	Scenario string
}

// Scenario is one provider payload and signing scheme.
type Scenario struct {
	Name     string
	Provider string
	Kind     Kind
	Source   string // source id
	// build returns callback number n, signed as of now.
	build func(n uint64, now time.Time) (Request, error)
}

// Build returns the n-th callback of the scenario; numbers give unique ids
// within a run.
func (s *Scenario) Build(n uint64, now time.Time) (Request, error) {
	r, err := s.build(n, now)
	if err != nil {
		return Request{}, fmt.Errorf("loadgen: %s: %w", s.Name, err)
	}
	r.Kind, r.Provider, r.Scenario = s.Kind, s.Provider, s.Name
	return r, nil
}

// ids makes the provider-shaped ids of one run: every id contains the
// run's nonce (8 hex digits), so a run finds its own rows in lists.
type ids struct{ nonce string }

// sid is a SignalWire SID: prefix, then 32 hex digits.
func (i ids) sid(prefix string, n uint64) string { return fmt.Sprintf("%s%s%024x", prefix, i.nonce, n) }

// uuid is a version-4-shaped UUID; tag tells the ids of one callback apart.
func (i ids) uuid(tag uint16, n uint64) string {
	return fmt.Sprintf("%s-%04x-4000-8000-%012x", i.nonce, tag, n)
}

// smsID is a Vonage SMS API messageId (16 hex digits).
func (i ids) smsID(n uint64) string { return fmt.Sprintf("%s%08x", i.nonce, n) }

const filler = "Hi Sam, your order 48213 has shipped and arrives Thursday. Track it at example.com/t/48213. Reply STOP to opt out. "

// padTo calls build with a text long enough that the result is about size
// bytes (no shorter than build's output with an empty text). The text
// needs no escaping in a form or JSON.
func padTo(size int, build func(text string) []byte) []byte {
	b := build("")
	need := size - len(b)
	if need <= 0 {
		return b
	}
	return build(strings.Repeat(filler, need/len(filler)+1)[:need])
}

// statusOf picks callback n's status: mostly success, every tenth a failure.
func statusOf(n uint64, ok, failed string) string {
	if n%10 == 9 {
		return failed
	}
	return ok
}

// Scenarios returns every provider and scheme the target can sign for.
// bodySize is the approximate size of each body (or, for none, ignored).
func Scenarios(t *Target, nonce string, bodySize int) []*Scenario {
	id := ids{nonce: nonce}
	var out []*Scenario
	if sw := t.SignalWire; sw != nil {
		out = append(out, signalWireScenarios(sw, id, bodySize)...)
	}
	if v := t.Vonage; v != nil {
		out = append(out, vonageScenarios(v, id, bodySize)...)
	}
	if mm := t.MessageMedia; mm != nil {
		out = append(out, messageMediaScenario(mm, id, bodySize))
	}
	return out
}

func hookPath(id string) string { return "/hooks/" + id }

// swMessage is a SignalWire message status callback, as ordered fields.
func swMessage(sid string, n uint64, text string) []provider.Param {
	status := statusOf(n, "delivered", "undelivered")
	p := []provider.Param{
		{Name: "ApiVersion", Value: "2010-04-01"}, {Name: "AccountSid", Value: "AC6b1f4f0c2e4a4c3f9b1d2e3f4a5b6c7d"},
		{Name: "MessageSid", Value: sid}, {Name: "SmsSid", Value: sid},
		{Name: "From", Value: "+15557654321"}, {Name: "To", Value: "+1555" + fmt.Sprintf("%07d", n%10000000)},
		{Name: "Body", Value: text}, {Name: "NumMedia", Value: "0"}, {Name: "NumSegments", Value: "1"},
		{Name: "MessageStatus", Value: status}, {Name: "SmsStatus", Value: status},
	}
	if status == "undelivered" {
		p = append(p, provider.Param{Name: "ErrorCode", Value: "30003"})
	}
	return p
}

func formOf(params []provider.Param) []byte {
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.Value))
	}
	return []byte(b.String())
}

// jsonOf encodes params as a flat JSON object of strings, in order
// (encoding/json's string escaping: strconv.Quote's Go escapes such as
// \x1f are not JSON).
func jsonOf(params []provider.Param) []byte {
	b := []byte{'{'}
	for i, p := range params {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(p.Name) // a string always marshals
		value, _ := json.Marshal(p.Value)
		b = append(append(append(b, name...), ':'), value...)
	}
	return append(b, '}')
}

func valuesOf(params []provider.Param) url.Values {
	v := make(url.Values, len(params))
	for _, p := range params {
		v[p.Name] = append(v[p.Name], p.Value)
	}
	return v
}

func header(kv ...string) http.Header {
	h := make(http.Header, len(kv)/2+5)
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

func signalWireScenarios(sw *SignalWireSource, id ids, size int) []*Scenario {
	path := hookPath(sw.ID)
	sc := func(name string, kind Kind, build func(n uint64, now time.Time) (Request, error)) *Scenario {
		return &Scenario{Name: name, Provider: signalwire.Name, Kind: kind, Source: sw.ID, build: build}
	}
	return []*Scenario{
		sc("signalwire-a-form", KindMessage, func(n uint64, _ time.Time) (Request, error) {
			sid := id.sid("SM", n)
			body := padTo(size, func(text string) []byte { return formOf(swMessage(sid, n, text)) })
			return Request{Method: http.MethodPost, Path: path, Body: body, Acked: Acked{ID: sid}, Header: header(
				"Content-Type", formType, signalwire.HeaderSignature, signalwire.SignSchemeA(sw.Key, sw.SignBase, body))}, nil
		}),
		sc("signalwire-a-json", KindMessage, func(n uint64, _ time.Time) (Request, error) {
			sid := id.sid("SM", n)
			body := padTo(size, func(text string) []byte { return jsonOf(swMessage(sid, n, text)) })
			return Request{Method: http.MethodPost, Path: path, Body: body, Acked: Acked{ID: sid}, Header: header(
				"Content-Type", jsonType, signalwire.HeaderSignature, signalwire.SignSchemeA(sw.Key, sw.SignBase, body))}, nil
		}),
		sc("signalwire-b-form", KindMessage, func(n uint64, _ time.Time) (Request, error) {
			sid := id.sid("SM", n)
			var params []provider.Param
			body := padTo(size, func(text string) []byte { params = swMessage(sid, n, text); return formOf(params) })
			return Request{Method: http.MethodPost, Path: path, Body: body, Acked: Acked{ID: sid}, Header: header(
				"Content-Type", formType, signalwire.HeaderTwilioSignature, signalwire.SignSchemeB(sw.Key, sw.SignBase, valuesOf(params)))}, nil
		}),
		sc("signalwire-b-json", KindMessage, func(n uint64, _ time.Time) (Request, error) {
			sid := id.sid("SM", n)
			body := padTo(size, func(text string) []byte { return jsonOf(swMessage(sid, n, text)) })
			signed, sig := signalwire.SignSchemeBJSON(sw.Key, sw.SignBase, body)
			return Request{Method: http.MethodPost, Path: path + strings.TrimPrefix(signed, sw.SignBase), Body: body, Acked: Acked{ID: sid},
				Header: header("Content-Type", jsonType, signalwire.HeaderSignature, sig)}, nil
		}),
		sc("signalwire-call-a", KindCall, func(n uint64, now time.Time) (Request, error) {
			sid := id.sid("CA", n)
			status := statusOf(n, "completed", "no-answer")
			body := padTo(size, func(text string) []byte {
				return formOf([]provider.Param{
					{Name: "ApiVersion", Value: "2010-04-01"}, {Name: "AccountSid", Value: "AC6b1f4f0c2e4a4c3f9b1d2e3f4a5b6c7d"},
					{Name: "CallSid", Value: sid}, {Name: "From", Value: "+15557654321"},
					{Name: "To", Value: "+1555" + fmt.Sprintf("%07d", n%10000000)}, {Name: "Direction", Value: "outbound-api"},
					{Name: "CallStatus", Value: status}, {Name: "CallDuration", Value: "42"},
					{Name: "Timestamp", Value: now.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700")},
					{Name: "CallbackSource", Value: "call-progress-events"}, {Name: "SequenceNumber", Value: "3"},
					{Name: "CallerName", Value: text},
				})
			})
			return Request{Method: http.MethodPost, Path: path, Body: body, Acked: Acked{ID: sid}, Header: header(
				"Content-Type", formType,
				signalwire.HeaderSignature, signalwire.SignSchemeA(sw.Key, sw.SignBase, body),
				signalwire.HeaderSHA256Signature, signalwire.SignSchemeASHA256(sw.Key, sw.SignBase, body))}, nil
		}),
	}
}

// vonageMessageStatus is a Messages API status webhook (its members in
// the order Vonage sends them).
type vonageMessageStatus struct {
	MessageUUID string `json:"message_uuid"`
	To          string `json:"to"`
	From        string `json:"from"`
	Timestamp   string `json:"timestamp"`
	Status      string `json:"status"`
	Channel     string `json:"channel"`
	ClientRef   string `json:"client_ref"`
	Usage       struct {
		Currency string `json:"currency"`
		Price    string `json:"price"`
	} `json:"usage"`
	Destination struct {
		NetworkCode string `json:"network_code"`
	} `json:"destination"`
	SMS struct {
		CountTotal string `json:"count_total"`
	} `json:"sms"`
}

// vonageVoiceEvent is a Voice API event webhook of a finished call.
type vonageVoiceEvent struct {
	From             string            `json:"from"`
	To               string            `json:"to"`
	UUID             string            `json:"uuid"`
	ConversationUUID string            `json:"conversation_uuid"`
	Status           string            `json:"status"`
	Direction        string            `json:"direction"`
	Timestamp        string            `json:"timestamp"`
	StartTime        string            `json:"start_time"`
	EndTime          string            `json:"end_time"`
	Duration         string            `json:"duration"`
	Rate             string            `json:"rate"`
	Price            string            `json:"price"`
	Network          string            `json:"network"`
	Headers          map[string]string `json:"headers"`
}

const vonageTime = "2006-01-02T15:04:05.000Z"

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the payload structs always encode
	}
	return b
}

func vonageScenarios(v *VonageSource, id ids, size int) []*Scenario {
	path := hookPath(v.ID)
	jwtRequest := func(n uint64, now time.Time, body []byte) (Request, error) {
		tok, err := vonage.SignCallbackJWT(v.Secret, v.APIKey, id.uuid(0x7a11, n), now, body)
		if err != nil {
			return Request{}, err
		}
		return Request{Method: http.MethodPost, Path: path, Body: body,
			Header: header("Content-Type", jsonType, "Authorization", "Bearer "+tok)}, nil
	}
	out := []*Scenario{
		{Name: "vonage-jwt", Provider: vonage.Name, Kind: KindMessage, Source: v.ID, build: func(n uint64, now time.Time) (Request, error) {
			m := vonageMessageStatus{MessageUUID: id.uuid(0xa001, n), To: "447700900" + fmt.Sprintf("%03d", n%1000), From: "Acme",
				Timestamp: now.UTC().Format(vonageTime), Status: statusOf(n, "delivered", "rejected"), Channel: "sms"}
			m.Usage.Currency, m.Usage.Price = "EUR", "0.0333"
			m.Destination.NetworkCode, m.SMS.CountTotal = "23410", "1"
			body := padTo(size, func(text string) []byte { m.ClientRef = text; return mustJSON(m) })
			r, err := jwtRequest(n, now, body)
			r.ID = m.MessageUUID
			return r, err
		}},
		{Name: "vonage-voice-jwt", Provider: vonage.Name, Kind: KindCall, Source: v.ID, build: func(n uint64, now time.Time) (Request, error) {
			e := vonageVoiceEvent{From: "447700900000", To: "447700900" + fmt.Sprintf("%03d", n%1000), UUID: id.uuid(0xca11, n),
				ConversationUUID: "CON-" + id.uuid(0xc0c0, n), Status: statusOf(n, "completed", "unanswered"), Direction: "outbound",
				Timestamp: now.UTC().Format(vonageTime), StartTime: now.Add(-42 * time.Second).UTC().Format(vonageTime),
				EndTime: now.UTC().Format(vonageTime), Duration: "42", Rate: "0.00450000", Price: "0.00315000", Network: "23410"}
			body := padTo(size, func(text string) []byte { e.Headers = map[string]string{"X-Campaign": text}; return mustJSON(e) })
			r, err := jwtRequest(n, now, body)
			r.ID = e.UUID
			return r, err
		}},
	}
	if v.SMSMethod != "" {
		out = append(out, &Scenario{Name: "vonage-sms-sig", Provider: vonage.Name, Kind: KindMessage, Source: v.ID,
			build: func(n uint64, now time.Time) (Request, error) {
				msgID := id.smsID(n)
				status, errCode := "delivered", "0"
				if n%10 == 9 {
					status, errCode = "failed", "6"
				}
				var sigErr error
				body := padTo(size, func(text string) []byte {
					form, err := vonage.SignSMSForm(v.SMSMethod, v.Secret, []provider.Param{
						{Name: "msisdn", Value: "447700900" + fmt.Sprintf("%03d", n%1000)}, {Name: "to", Value: "Acme"},
						{Name: "network-code", Value: "23410"}, {Name: "messageId", Value: msgID}, {Name: "price", Value: "0.03330000"},
						{Name: "status", Value: status}, {Name: "scts", Value: now.UTC().Format("0601021504")},
						{Name: "err-code", Value: errCode}, {Name: "client-ref", Value: text},
						{Name: "message-timestamp", Value: now.UTC().Format("2006-01-02 15:04:05")},
						{Name: "timestamp", Value: strconv.FormatInt(now.Unix(), 10)}, {Name: "nonce", Value: id.uuid(0x5e1f, n)},
					})
					sigErr = err
					return []byte(form)
				})
				return Request{Method: http.MethodPost, Path: path, Body: body, Acked: Acked{ID: msgID},
					Header: header("Content-Type", formType)}, sigErr
			}})
	}
	return out
}

// mmReport is a MessageMedia delivery report.
type mmReport struct {
	CallbackURL      string `json:"callback_url"`
	DeliveryReportID string `json:"delivery_report_id"`
	SourceNumber     string `json:"source_number"`
	DateReceived     string `json:"date_received"`
	Status           string `json:"status"`
	Delay            int    `json:"delay"`
	BillingUnits     int    `json:"billing_units"`
	SubmittedDate    string `json:"submitted_date"`
	OriginalText     string `json:"original_text"`
	MessageID        string `json:"message_id"`
	VendorAccountID  struct {
		VendorID  string `json:"vendor_id"`
		AccountID string `json:"account_id"`
	} `json:"vendor_account_id"`
	ErrorCode string            `json:"error_code,omitempty"`
	Metadata  map[string]string `json:"metadata"`
}

func messageMediaScenario(mm *MessageMediaSource, id ids, size int) *Scenario {
	path := hookPath(mm.ID)
	requestLine := messagemedia.RequestLine(http.MethodPost, messagemedia.RequestURI(mm.SignBase), "HTTP/1.1")
	return &Scenario{Name: "messagemedia-rsa", Provider: messagemedia.Name, Kind: KindMessage, Source: mm.ID,
		build: func(n uint64, now time.Time) (Request, error) {
			r := mmReport{CallbackURL: mm.SignBase, DeliveryReportID: id.uuid(0xd001, n), SourceNumber: "+61491570156",
				DateReceived: now.UTC().Format("2006-01-02T15:04:05.000Z"), Status: statusOf(n, "delivered", "failed"),
				BillingUnits: 1, SubmittedDate: now.Add(-3 * time.Second).UTC().Format("2006-01-02T15:04:05.000Z"),
				MessageID: id.uuid(0x3e55, n), Metadata: map[string]string{"campaign": "spring"}}
			r.VendorAccountID.VendorID, r.VendorAccountID.AccountID = "MessageMedia", "AcmeAccount01"
			if r.Status == "failed" {
				r.ErrorCode = "220"
			}
			body := padTo(size, func(text string) []byte { r.OriginalText = text; return mustJSON(r) })
			h, err := messagemedia.SignatureHeaders(mm.Key, mm.KeyID, mm.Digest, requestLine, now, body)
			if err != nil {
				return Request{}, err
			}
			h.Set("Content-Type", jsonType)
			return Request{Method: http.MethodPost, Path: path, Body: body, Acked: Acked{ID: r.MessageID}, Header: h}, nil
		}}
}
