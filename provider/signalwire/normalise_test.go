package signalwire

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

var testEventID = uuid.MustParse("0190f5c2-7a1b-7c3d-8e4f-a1b2c3d4e5f6")

func record(method, signedURL, contentType, body string) *schema.Record {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &schema.Record{
		Version: schema.RecordVersion, ID: testEventID, ReceivedAt: receivedAt,
		Source: "sw-main", Provider: Name, Tenant: "acme",
		Method: method, URL: signedURL, Headers: h,
		Verdict: schema.VerdictAccepted, Body: []byte(body), BodyBytes: len(body),
	}
}

func formRecord(f url.Values) *schema.Record {
	return record(http.MethodPost, publicURL, "application/x-www-form-urlencoded", f.Encode())
}

func TestNormaliseMessageStatuses(t *testing.T) {
	tests := []struct {
		provider, want string
		rank           uint8
	}{
		{"queued", schema.MessageQueued, 1},
		{"accepted", schema.MessageQueued, 1},
		{"sending", schema.MessageQueued, 1},
		{"sent", schema.MessageSent, 2},
		{"delivered", schema.MessageDelivered, 3},
		{"undelivered", schema.MessageUndelivered, 3},
		{"failed", schema.MessageFailed, 3},
		{"Delivered", schema.MessageDelivered, 3},
		{"read", schema.MessageUnknown, 0},
		{"partially_delivered", schema.MessageUnknown, 0},
	}
	for _, tc := range tests {
		t.Run(tc.provider, func(t *testing.T) {
			n, err := New().Normalise(formRecord(messageStatusForm(tc.provider)))
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Messages) != 1 || len(n.Replies) != 0 || len(n.Calls) != 0 {
				t.Fatalf("rows = %+v", n)
			}
			m := n.Messages[0]
			want := schema.MessageEvent{
				DedupKey: "signalwire:message:b3877c40-da60-4998-90ad-b792e98472af:" + tc.provider,
				EventID:  testEventID, Tenant: "acme", Source: "sw-main", Provider: "signalwire",
				MessageID: "b3877c40-da60-4998-90ad-b792e98472af", Status: tc.want, StatusRank: tc.rank,
				ProviderStatus: tc.provider, OccurredAt: receivedAt, ReceivedAt: receivedAt,
				To: "+15557654321", From: "+15551234567",
			}
			if tc.provider == "failed" || tc.provider == "undelivered" {
				want.ErrorCode = "30008"
			}
			if m != want {
				t.Fatalf("got  %+v\nwant %+v", m, want)
			}
		})
	}
}

func TestNormaliseMessageDetails(t *testing.T) {
	t.Run("error message, provider time, JSON body", func(t *testing.T) {
		body := `{"MessageSid":"SM9","MessageStatus":"undelivered","ErrorCode":30003,"ErrorMessage":"Unreachable destination handset","To":"+15557654321","From":"+15551234567","Timestamp":"Thu, 04 Apr 2024 18:32:15 +0000","Extra":{"nested":true},"Null":null}`
		n, err := New().Normalise(record(http.MethodPost, publicURL, "application/json", body))
		if err != nil {
			t.Fatal(err)
		}
		m := n.Messages[0]
		if m.ErrorCode != "30003" || m.ErrorDetail != "Unreachable destination handset" || m.Status != schema.MessageUndelivered {
			t.Errorf("%+v", m)
		}
		if want := time.Date(2024, 4, 4, 18, 32, 15, 0, time.UTC); !m.OccurredAt.Equal(want) || m.OccurredAt.Location() != time.UTC {
			t.Errorf("OccurredAt = %v", m.OccurredAt)
		}
	})
	t.Run("GET query payload", func(t *testing.T) {
		n, err := New().Normalise(record(http.MethodGet, publicURL+"?"+messageStatusForm("sent").Encode(), "", ""))
		if err != nil {
			t.Fatal(err)
		}
		if n.Messages[0].Status != schema.MessageSent {
			t.Errorf("%+v", n.Messages[0])
		}
	})
	t.Run("a retry gives the same dedup key, another status another", func(t *testing.T) {
		a, _ := New().Normalise(formRecord(messageStatusForm("sent")))
		retry := formRecord(messageStatusForm("sent"))
		retry.ID = uuid.MustParse("0190f5c2-7a1b-7c3d-8e4f-000000000001")
		retry.ReceivedAt = receivedAt.Add(time.Minute)
		b, _ := New().Normalise(retry)
		c, _ := New().Normalise(formRecord(messageStatusForm("delivered")))
		if a.Messages[0].DedupKey != b.Messages[0].DedupKey {
			t.Error("retry changed the dedup key")
		}
		if a.Messages[0].DedupKey == c.Messages[0].DedupKey {
			t.Error("two statuses share a dedup key")
		}
	})
	t.Run("received time is UTC", func(t *testing.T) {
		rec := formRecord(messageStatusForm("sent"))
		rec.ReceivedAt = receivedAt.In(time.FixedZone("CEST", 2*3600))
		n, _ := New().Normalise(rec)
		if n.Messages[0].ReceivedAt.Location() != time.UTC || n.Messages[0].OccurredAt.Location() != time.UTC {
			t.Error("times not UTC")
		}
	})
}

func TestNormaliseInbound(t *testing.T) {
	inbound := func(status string) url.Values {
		f := url.Values{
			"MessageSid": {"e3f0bd8a-93c4-4b7a-a0b1-c2d3e4f5a6b7"}, "AccountSid": {"446e9986-0848-4d46-a617-48793c5f5e07"},
			"From": {"+15557654321"}, "To": {"+15551234567"}, "Body": {" STOP please "}, "NumMedia": {"1"},
			"MediaUrl0": {"https://files.signalwire.com/m/1.jpg"}, "MediaContentType0": {"image/jpeg"},
		}
		if status != "" {
			f.Set("MessageStatus", status)
		}
		return f
	}
	for _, status := range []string{"received", "receiving", ""} {
		t.Run("status "+status, func(t *testing.T) {
			n, err := New().Normalise(formRecord(inbound(status)))
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Replies) != 1 || len(n.Messages) != 0 {
				t.Fatalf("%+v", n)
			}
			want := schema.Reply{
				DedupKey: "signalwire:reply:e3f0bd8a-93c4-4b7a-a0b1-c2d3e4f5a6b7", EventID: testEventID,
				Tenant: "acme", Source: "sw-main", Provider: "signalwire",
				ReplyID: "e3f0bd8a-93c4-4b7a-a0b1-c2d3e4f5a6b7", From: "+15557654321", To: "+15551234567",
				Text: " STOP please ", OccurredAt: receivedAt, ReceivedAt: receivedAt,
			}
			if n.Replies[0] != want {
				t.Fatalf("got  %+v\nwant %+v", n.Replies[0], want)
			}
		})
	}
	t.Run("JSON MMS with a null Body and no status is a reply", func(t *testing.T) {
		n, err := New().Normalise(record(http.MethodPost, publicURL, "application/json",
			`{"MessageSid":"SM9","From":"+15557654321","To":"+15551234567","Body":null,"NumMedia":"1"}`))
		if err != nil || len(n.Replies) != 1 || n.Replies[0].From != "+15557654321" {
			t.Fatalf("%+v %v", n, err)
		}
	})
	t.Run("empty body MMS is still a reply", func(t *testing.T) {
		f := inbound("")
		f.Set("Body", "")
		n, err := New().Normalise(formRecord(f))
		if err != nil || len(n.Replies) != 1 {
			t.Fatalf("%+v %v", n, err)
		}
	})
}

func TestNormaliseCallStatuses(t *testing.T) {
	tests := []struct {
		provider, want string
		rank           uint8
	}{
		{"queued", schema.CallInitiated, 1},
		{"initiated", schema.CallInitiated, 1},
		{"ringing", schema.CallRinging, 2},
		{"in-progress", schema.CallAnswered, 3},
		{"completed", schema.CallCompleted, 4},
		{"busy", schema.CallBusy, 4},
		{"failed", schema.CallFailed, 4},
		{"no-answer", schema.CallNoAnswer, 4},
		{"canceled", schema.CallCancelled, 4},
		{"teleporting", "", 0}, // unknown: kept as a non-status event
	}
	for _, tc := range tests {
		t.Run(tc.provider, func(t *testing.T) {
			n, err := New().Normalise(formRecord(callStatusForm(tc.provider)))
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Calls) != 1 || len(n.Messages) != 0 {
				t.Fatalf("%+v", n)
			}
			want := schema.CallEvent{
				DedupKey: "signalwire:call:0f0b0d6e-6a43-4f0e-9a5e-0b1c4b0b7e21:" + tc.provider + ":2",
				EventID:  testEventID, Tenant: "acme", Source: "sw-main", Provider: "signalwire",
				CallID: "0f0b0d6e-6a43-4f0e-9a5e-0b1c4b0b7e21", Status: tc.want, StatusRank: tc.rank,
				ProviderStatus: tc.provider, OccurredAt: time.Date(2024, 4, 4, 18, 32, 15, 0, time.UTC),
				ReceivedAt: receivedAt, To: "+15557654321", From: "+15551234567", Direction: "outbound-api",
			}
			if tc.provider == "completed" {
				want.DurationSeconds = 37
			}
			if n.Calls[0] != want {
				t.Fatalf("got  %+v\nwant %+v", n.Calls[0], want)
			}
		})
	}
}

func TestNormaliseCallEvents(t *testing.T) {
	const sid = "0f0b0d6e-6a43-4f0e-9a5e-0b1c4b0b7e21"
	recording := func(f url.Values) url.Values {
		f.Set("RecordingSid", "7d1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8")
		f.Set("RecordingUrl", "https://example.signalwire.com/api/laml/2010-04-01/Accounts/AC/Recordings/7d1a2b3c")
		f.Set("RecordingDuration", "12")
		f.Set("RecordingStatus", "completed")
		return f
	}

	t.Run("recording status callback without CallStatus", func(t *testing.T) {
		f := recording(url.Values{"CallSid": {sid}, "AccountSid": {"AC"}})
		n, err := New().Normalise(formRecord(f))
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Calls) != 1 {
			t.Fatalf("%+v", n)
		}
		c := n.Calls[0]
		if c.Status != "" || c.StatusRank != 0 || c.ProviderStatus != "record" ||
			c.DedupKey != "signalwire:call:"+sid+":record:7d1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8:completed" ||
			!strings.Contains(c.Detail, "RecordingUrl=https://example.signalwire.com/") ||
			!strings.Contains(c.Detail, "RecordingDuration=12") || c.DurationSeconds != 0 {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("record action callback carrying the current CallStatus", func(t *testing.T) {
		f := callStatusForm("in-progress")
		f.Del("CallbackSource")
		f.Del("SequenceNumber")
		n, err := New().Normalise(formRecord(recording(f)))
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Calls) != 1 || n.Calls[0].ProviderStatus != "record" || n.Calls[0].Status != "" {
			t.Fatalf("%+v", n)
		}
		if !n.Calls[0].OccurredAt.Equal(time.Date(2024, 4, 4, 18, 32, 15, 0, time.UTC)) {
			t.Errorf("provider time not used: %v", n.Calls[0].OccurredAt)
		}
	})
	t.Run("final status of a recorded call gives a status and a record event", func(t *testing.T) {
		f := recording(callStatusForm("completed"))
		n, err := New().Normalise(formRecord(f))
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Calls) != 2 || n.Calls[0].Status != schema.CallCompleted || n.Calls[1].ProviderStatus != "record" ||
			n.Calls[0].DedupKey == n.Calls[1].DedupKey || n.Calls[0].DurationSeconds != 37 {
			t.Fatalf("%+v", n)
		}
	})
	t.Run("status without SequenceNumber, with parent and JSON", func(t *testing.T) {
		body := `{"CallSid":"` + sid + `","CallStatus":"ringing","ParentCallSid":"P1","Direction":"outbound-dial","Timestamp":"Thu, 4 Apr 2024 20:32:15 +0200"}`
		n, err := New().Normalise(record(http.MethodPost, publicURL, "application/json", body))
		if err != nil {
			t.Fatal(err)
		}
		c := n.Calls[0]
		if c.DedupKey != "signalwire:call:"+sid+":ringing" || c.Detail != "ParentCallSid=P1" || c.Direction != "outbound-dial" ||
			!c.OccurredAt.Equal(time.Date(2024, 4, 4, 18, 32, 15, 0, time.UTC)) || c.OccurredAt.Location() != time.UTC {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("unparseable Timestamp falls back to receive time", func(t *testing.T) {
		f := callStatusForm("ringing")
		f.Set("Timestamp", "yesterday-ish")
		n, _ := New().Normalise(formRecord(f))
		if !n.Calls[0].OccurredAt.Equal(receivedAt) {
			t.Fatalf("%v", n.Calls[0].OccurredAt)
		}
	})
	t.Run("voice request without status or recording is not tracked", func(t *testing.T) {
		n, err := New().Normalise(formRecord(url.Values{"CallSid": {sid}, "Digits": {"1"}}))
		if err != nil || !n.Empty() {
			t.Fatalf("%+v %v", n, err)
		}
	})
}

func TestNormaliseUnusable(t *testing.T) {
	tests := []struct {
		name string
		rec  *schema.Record
	}{
		{"no sid", formRecord(url.Values{"AccountSid": {"AC"}, "From": {"+1"}})},
		{"message with a sid and nothing else", formRecord(url.Values{"MessageSid": {"SM1"}})},
		{"bad JSON", record(http.MethodPost, publicURL, "application/json", `{"MessageSid":`)},
		{"JSON array", record(http.MethodPost, publicURL, "application/json", `[1,2]`)},
		{"JSON null", record(http.MethodPost, publicURL, "application/json", `null`)},
		{"bad form", record(http.MethodPost, publicURL, "application/x-www-form-urlencoded", "MessageSid=%zz")},
		{"bad query", record(http.MethodGet, publicURL+"?MessageSid=%zz", "", "")},
		{"empty POST", record(http.MethodPost, publicURL, "", "")},
		{"other content type", record(http.MethodPost, publicURL, "text/plain", "MessageSid=SM1&MessageStatus=sent")},
		{"nil record", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Normalise(tc.rec)
			if !errors.Is(err, provider.ErrUnusable) {
				t.Fatalf("err = %v, want ErrUnusable", err)
			}
		})
	}
}

func TestNormaliseFormWithoutContentType(t *testing.T) {
	n, err := New().Normalise(record(http.MethodPost, publicURL, "", messageStatusForm("sent").Encode()))
	if err != nil || len(n.Messages) != 1 {
		t.Fatalf("%+v %v", n, err)
	}
}
