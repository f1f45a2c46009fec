package messagemedia

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

var normaliseReceivedAt = time.Date(2024, 4, 4, 18, 32, 15, 250_000_000, time.UTC)

// record wraps a callback body the way ingest stores it.
func record(method, contentType, url, body string) *schema.Record {
	h := http.Header{"User-Agent": {"MessageMedia-Webhooks"}}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &schema.Record{
		Version: schema.RecordVersion, ID: uuid.MustParse("0190a6f2-7b3c-7d4e-8f00-0123456789ab"),
		ReceivedAt: normaliseReceivedAt, Source: "mm-main", Provider: Name, Tenant: "acme",
		Method: method, URL: url, Headers: h, Verdict: schema.VerdictAccepted, KeyID: keyIDPrimary,
		Body: []byte(body), BodyBytes: len(body),
	}
}

func drBody(status string) string {
	return strings.Replace(deliveryReportBody, `"status":"delivered"`, `"status":"`+status+`"`, 1)
}

func TestNormaliseDeliveryReportStatuses(t *testing.T) {
	for _, tc := range []struct{ providerStatus, want string }{
		{"queued", schema.MessageQueued},
		{"scheduled", schema.MessageQueued},
		{"processed", schema.MessageQueued},
		{"enroute", schema.MessageSent},
		{"submitted", schema.MessageSent},
		{"delivered", schema.MessageDelivered},
		{"expired", schema.MessageExpired},
		{"rejected", schema.MessageRejected},
		{"failed", schema.MessageFailed},
		{"undeliverable", schema.MessageUndelivered},
		{"cancelled", schema.MessageFailed},
		{"DELIVERED", schema.MessageDelivered},
		{"held_for_review", schema.MessageUnknown},
		{"", schema.MessageUnknown},
	} {
		t.Run(tc.providerStatus, func(t *testing.T) {
			n, err := New().Normalise(record(http.MethodPost, "application/json", hookURL, drBody(tc.providerStatus)))
			if err != nil {
				t.Fatalf("Normalise: %v", err)
			}
			if len(n.Messages) != 1 || len(n.Replies) != 0 || len(n.Calls) != 0 {
				t.Fatalf("rows = %+v", n)
			}
			ev := n.Messages[0]
			wantRank, _ := schema.MessageStatusRank(tc.want)
			want := schema.MessageEvent{
				DedupKey:       "messagemedia:dr:01e1fa0a-6e27-4945-9cdb-18644b4de043",
				EventID:        uuid.MustParse("0190a6f2-7b3c-7d4e-8f00-0123456789ab"),
				Tenant:         "acme",
				Source:         "mm-main",
				Provider:       "messagemedia",
				MessageID:      "877c19ef-fa2e-4cec-827a-e1df9b5509f7",
				Status:         tc.want,
				StatusRank:     wantRank,
				ProviderStatus: tc.providerStatus,
				OccurredAt:     time.Date(2024, 4, 4, 18, 32, 13, 642_000_000, time.UTC),
				ReceivedAt:     normaliseReceivedAt,
				To:             "+61491570157",
			}
			if ev != want {
				t.Fatalf("event\n got %+v\nwant %+v", ev, want)
			}
		})
	}
}

func TestNormaliseDeliveryReportFields(t *testing.T) {
	for _, tc := range []struct {
		name, method, contentType, url, body string
		check                                func(t *testing.T, ev schema.MessageEvent)
	}{
		{
			name: "error code as a string", method: http.MethodPost, contentType: "application/json", url: hookURL,
			body: strings.Replace(drBody("failed"), `"error_code":""`, `"error_code":"220"`, 1),
			check: func(t *testing.T, ev schema.MessageEvent) {
				if ev.ErrorCode != "220" || ev.Status != schema.MessageFailed {
					t.Fatalf("got %+v", ev)
				}
			},
		},
		{
			name: "error code as a number, destination_number present", method: http.MethodPost, contentType: "application/json; charset=utf-8", url: hookURL,
			body: `{"delivery_report_id":"d1","message_id":"m1","status":"rejected","error_code":220,` +
				`"source_number":"+61491570157","destination_number":"+61491570156","date_received":"2024-04-04T18:32:13.642Z"}`,
			check: func(t *testing.T, ev schema.MessageEvent) {
				if ev.ErrorCode != "220" || ev.To != "+61491570157" || ev.From != "+61491570156" || ev.DedupKey != "messagemedia:dr:d1" {
					t.Fatalf("got %+v", ev)
				}
			},
		},
		{
			name: "no date_received: receive time", method: http.MethodPost, contentType: "application/json", url: hookURL,
			body: `{"delivery_report_id":"d1","message_id":"m1","status":"enroute"}`,
			check: func(t *testing.T, ev schema.MessageEvent) {
				if !ev.OccurredAt.Equal(normaliseReceivedAt) {
					t.Fatalf("OccurredAt = %s", ev.OccurredAt)
				}
			},
		},
		{
			name: "unparseable date_received: receive time", method: http.MethodPost, contentType: "application/json", url: hookURL,
			body: `{"delivery_report_id":"d1","message_id":"m1","status":"enroute","date_received":"last tuesday"}`,
			check: func(t *testing.T, ev schema.MessageEvent) {
				if !ev.OccurredAt.Equal(normaliseReceivedAt) {
					t.Fatalf("OccurredAt = %s", ev.OccurredAt)
				}
			},
		},
		{
			name: "implausible date_received (year 2999): receive time", method: http.MethodPost, contentType: "application/json", url: hookURL,
			body: `{"delivery_report_id":"d1","message_id":"m1","status":"delivered","date_received":"2999-04-04T18:32:13.642Z"}`,
			check: func(t *testing.T, ev schema.MessageEvent) {
				if !ev.OccurredAt.Equal(normaliseReceivedAt) {
					t.Fatalf("OccurredAt = %s", ev.OccurredAt)
				}
			},
		},
		{
			name: "date_received without zone is UTC", method: http.MethodPost, contentType: "application/json", url: hookURL,
			body: `{"delivery_report_id":"d1","message_id":"m1","status":"enroute","date_received":"2024-04-04T18:32:13.642"}`,
			check: func(t *testing.T, ev schema.MessageEvent) {
				if !ev.OccurredAt.Equal(time.Date(2024, 4, 4, 18, 32, 13, 642_000_000, time.UTC)) || ev.OccurredAt.Location() != time.UTC {
					t.Fatalf("OccurredAt = %s", ev.OccurredAt)
				}
			},
		},
		{
			name: "date_received with offset is converted to UTC", method: http.MethodPost, contentType: "application/json", url: hookURL,
			body: `{"delivery_report_id":"d1","message_id":"m1","status":"enroute","date_received":"2024-04-05T04:32:13.642+10:00"}`,
			check: func(t *testing.T, ev schema.MessageEvent) {
				if ev.OccurredAt != time.Date(2024, 4, 4, 18, 32, 13, 642_000_000, time.UTC) {
					t.Fatalf("OccurredAt = %s", ev.OccurredAt)
				}
			},
		},
		{
			name: "JSON without content type", method: http.MethodPost, contentType: "", url: hookURL, body: drBody("submitted"),
			check: func(t *testing.T, ev schema.MessageEvent) {
				if ev.Status != schema.MessageSent {
					t.Fatalf("got %+v", ev)
				}
			},
		},
		{
			name: "urlencoded form POST", method: http.MethodPost, contentType: "application/x-www-form-urlencoded", url: hookURL,
			body: "delivery_report_id=d2&message_id=m2&status=delivered&source_number=%2B61491570157&date_received=2024-04-04T18%3A32%3A13.642Z",
			check: func(t *testing.T, ev schema.MessageEvent) {
				if ev.DedupKey != "messagemedia:dr:d2" || ev.MessageID != "m2" || ev.To != "+61491570157" || ev.Status != schema.MessageDelivered {
					t.Fatalf("got %+v", ev)
				}
			},
		},
		{
			name: "GET query", method: http.MethodGet, url: "https://hooks.example.com/hooks/mm-main?delivery_report_id=d3&message_id=m3&status=expired",
			check: func(t *testing.T, ev schema.MessageEvent) {
				if ev.DedupKey != "messagemedia:dr:d3" || ev.MessageID != "m3" || ev.Status != schema.MessageExpired {
					t.Fatalf("got %+v", ev)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New().Normalise(record(tc.method, tc.contentType, tc.url, tc.body))
			if err != nil {
				t.Fatalf("Normalise: %v", err)
			}
			if len(n.Messages) != 1 {
				t.Fatalf("rows = %+v", n)
			}
			tc.check(t, n.Messages[0])
		})
	}
}

func TestNormaliseReply(t *testing.T) {
	n, err := New().Normalise(record(http.MethodPost, "application/json", hookURL, replyBody))
	if err != nil {
		t.Fatalf("Normalise: %v", err)
	}
	if len(n.Replies) != 1 || len(n.Messages) != 0 || len(n.Calls) != 0 {
		t.Fatalf("rows = %+v", n)
	}
	want := schema.Reply{
		DedupKey:   "messagemedia:reply:a175e797-2b54-468b-9850-41a3eab32f74",
		EventID:    uuid.MustParse("0190a6f2-7b3c-7d4e-8f00-0123456789ab"),
		Tenant:     "acme",
		Source:     "mm-main",
		Provider:   "messagemedia",
		ReplyID:    "a175e797-2b54-468b-9850-41a3eab32f74",
		MessageID:  "877c19ef-fa2e-4cec-827a-e1df9b5509f7",
		From:       "+61491570157",
		To:         "+61491570156",
		Text:       "Yes, see you then ✓",
		OccurredAt: time.Date(2024, 4, 4, 18, 31, 59, 123_000_000, time.UTC),
		ReceivedAt: normaliseReceivedAt,
	}
	if n.Replies[0] != want {
		t.Fatalf("reply\n got %+v\nwant %+v", n.Replies[0], want)
	}

	// A reply MessageMedia could not match to a message, with untrimmed text.
	n, err = New().Normalise(record(http.MethodPost, "application/json", hookURL,
		`{"reply_id":"r2","content":"  STOP  ","source_number":"+61491570157","destination_number":"+61491570156"}`))
	if err != nil {
		t.Fatalf("Normalise: %v", err)
	}
	if r := n.Replies[0]; r.MessageID != "" || r.Text != "  STOP  " || !r.OccurredAt.Equal(normaliseReceivedAt) {
		t.Fatalf("reply = %+v", r)
	}
}

// TestNormaliseRetryIsOneEvent checks a provider retry (new event id, later
// receive time, same payload) produces the same dedup key.
func TestNormaliseRetryIsOneEvent(t *testing.T) {
	for _, body := range []string{deliveryReportBody, replyBody} {
		first, err := New().Normalise(record(http.MethodPost, "application/json", hookURL, body))
		if err != nil {
			t.Fatal(err)
		}
		retry := record(http.MethodPost, "application/json", hookURL, body)
		retry.ID = uuid.MustParse("0190a6f2-9999-7d4e-8f00-0123456789ab")
		retry.ReceivedAt = normaliseReceivedAt.Add(time.Minute)
		second, err := New().Normalise(retry)
		if err != nil {
			t.Fatal(err)
		}
		if dedupKey(first) != dedupKey(second) || dedupKey(first) == "" {
			t.Fatalf("dedup keys differ: %q vs %q", dedupKey(first), dedupKey(second))
		}
	}
}

func dedupKey(n schema.Normalised) string {
	switch {
	case len(n.Messages) == 1:
		return n.Messages[0].DedupKey
	case len(n.Replies) == 1:
		return n.Replies[0].DedupKey
	}
	return ""
}

func TestNormaliseUnusable(t *testing.T) {
	truncated := record(http.MethodPost, "application/json", hookURL, deliveryReportBody)
	truncated.BodyTruncated = true
	for _, tc := range []struct {
		name string
		rec  *schema.Record
	}{
		{"nil record", nil},
		{"truncated body", truncated},
		{"not JSON", record(http.MethodPost, "text/plain", hookURL, "delivered")},
		{"JSON array", record(http.MethodPost, "application/json", hookURL, "["+deliveryReportBody+"]")},
		{"JSON null", record(http.MethodPost, "application/json", hookURL, "null")},
		{"empty body", record(http.MethodPost, "application/json", hookURL, "")},
		{"neither delivery_report_id nor reply_id", record(http.MethodPost, "application/json", hookURL, `{"message_id":"m1","status":"delivered"}`)},
		{"delivery report without message_id", record(http.MethodPost, "application/json", hookURL, `{"delivery_report_id":"d1","status":"delivered"}`)},
		{"bad form encoding", record(http.MethodPost, "application/x-www-form-urlencoded", hookURL, "delivery_report_id=%zz")},
		{"GET without payload", record(http.MethodGet, "", hookURL, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New().Normalise(tc.rec)
			if !errors.Is(err, provider.ErrUnusable) {
				t.Fatalf("Normalise = %+v, %v; want ErrUnusable", n, err)
			}
		})
	}
}

func BenchmarkNormaliseDeliveryReport(b *testing.B) {
	rec := record(http.MethodPost, "application/json", hookURL, deliveryReportBody)
	p := New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Normalise(rec); err != nil {
			b.Fatal(err)
		}
	}
}
