package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestRecordRoundTripKeepsBodyByteExact(t *testing.T) {
	body := []byte("a=1&b=\x00\xff\xfe{\"x\":1}\r\n")
	in := &Record{ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC),
		Source: "s", Provider: "signalwire", Tenant: "t", Method: "POST", URL: "https://h/hooks/s?q=%2B",
		Headers: http.Header{"X-A": {"1", "2"}}, Verdict: VerdictAccepted, KeyID: "k", Body: body, BodyBytes: len(body)}
	value, headers, err := EncodeRecord(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(value, body) {
		t.Fatalf("v2 value is not the body: %q", value)
	}
	if headers[HeaderContentType] != RecordContentType || !ToForward(headers) {
		t.Fatalf("headers %v", headers)
	}
	out, err := DecodeRecord(value, headers)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Body, body) || !out.ReceivedAt.Equal(in.ReceivedAt) || out.Version != RecordVersion ||
		out.URL != in.URL || out.Headers.Get("X-A") != "1" || out.KeyID != "k" || out.BodyBytes != len(body) {
		t.Fatalf("round trip changed the record: %+v", out)
	}
}

// TestDecodeRecordV1: a record exactly as hookledger wrote it before v2
// (testdata/record-v1.json, produced by that build's MarshalRecord) still
// decodes, with or without its content-type header.
func TestDecodeRecordV1(t *testing.T) {
	value, err := os.ReadFile("testdata/record-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	wantBody := "MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC1&From=%2B15550001111&To=%2B15550002222&Body=h%C3%A9llo&MessageStatus=delivered"
	for _, headers := range []map[string]string{
		{HeaderContentType: RecordContentTypeV1, HeaderVerdict: "accepted"},
		nil,
	} {
		rec, err := DecodeRecord(value, headers)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Version != 1 || rec.ID.String() != "019ad8a2-5c1e-7b3a-9f10-3c2d4e5f6a7b" || string(rec.Body) != wantBody ||
			rec.Provider != "signalwire" || rec.Verdict != VerdictAccepted || rec.KeyID != "sha256:6f1ac3b2d9e0" ||
			rec.Headers.Get("Host") != "hooks.example.com" || rec.BodyBytes != len(wantBody) {
			t.Errorf("v1 record decoded as %+v", rec)
		}
	}
}

func TestDecodeRecordRejectsNewerVersionsAndMissingIDs(t *testing.T) {
	const id = "01a20475-2d78-7c51-ba45-c7aa4ffd9adb"
	for _, c := range []struct {
		name    string
		value   string
		headers map[string]string
		newer   bool
	}{
		{"v1 value of v99", `{"v":99,"id":"` + id + `"}`, nil, true},
		{"v1 without id", `{"v":1}`, nil, false},
		{"unknown content type", "body", map[string]string{HeaderContentType: "application/vnd.hookledger.record.v3"}, true},
		{"v2 metadata of v99", "body", map[string]string{HeaderContentType: RecordContentType, HeaderRecord: `{"v":99,"id":"` + id + `"}`}, true},
		{"v2 without metadata", "body", map[string]string{HeaderContentType: RecordContentType}, false},
		{"v2 without id", "body", map[string]string{HeaderContentType: RecordContentType, HeaderRecord: `{"v":2}`}, false},
		{"v2 metadata with a body", "body", map[string]string{HeaderContentType: RecordContentType, HeaderRecord: `{"v":2,"id":"` + id + `","body":"AAE="}`}, false},
	} {
		_, err := DecodeRecord([]byte(c.value), c.headers)
		if err == nil || c.newer != errors.Is(err, ErrRecordVersion) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// FuzzDecodeRecord: whatever decodes (v1 value, or v2 value and metadata)
// re-encodes as v2 to something that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	v1, _ := os.ReadFile("testdata/record-v1.json")
	f.Add(v1, "")
	f.Add([]byte(`{"v":1,"id":"01a20475-2d78-7c51-ba45-c7aa4ffd9adb","body":"AAE="}`), "")
	f.Add([]byte("a=1"), `{"v":2,"id":"01a20475-2d78-7c51-ba45-c7aa4ffd9adb","headers":{"A":["b"]},"received_at":"2026-01-01T00:00:00Z"}`)
	f.Add([]byte(`not json`), "")
	f.Fuzz(func(t *testing.T, value []byte, meta string) {
		headers := map[string]string{}
		if meta != "" {
			headers[HeaderContentType], headers[HeaderRecord] = RecordContentType, meta
		}
		rec, err := DecodeRecord(value, headers)
		if err != nil {
			return
		}
		v, h, err := EncodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		rec2, err := DecodeRecord(v, h)
		if err != nil || rec2.ID != rec.ID || !bytes.Equal(rec2.Body, rec.Body) || rec2.URL != rec.URL {
			t.Fatalf("re-encoded record differs: %v", err)
		}
	})
}

// BenchmarkDecodeRecord: what the processor's consumers pay per record,
// v1 (base64 body in JSON) against v2 (JSON metadata, raw body), for a
// 600-byte callback.
func BenchmarkDecodeRecord(b *testing.B) {
	body := bytes.Repeat([]byte("MessageSid=SM0123456789abcdef&"), 20)
	rec := &Record{ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(), Source: "sw-main", Provider: "signalwire",
		Tenant: "acme", Method: "POST", URL: "https://hooks.example.com/hooks/sw-main", RemoteAddr: "203.0.113.7:51234",
		Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Signalwire-Signature": {"uqUtSxDE4b0TBhZT2nG4aFPNBVY="},
			"User-Agent": {"SignalWire-Webhook/1.0"}, "Host": {"hooks.example.com"}},
		Verdict: VerdictAccepted, KeyID: "sha256:6f1ac3b2d9e0", Body: body, BodyBytes: len(body)}
	v1 := *rec
	v1.Version = 1
	v1Value, _ := json.Marshal(&v1)
	v2Value, v2Headers, _ := EncodeRecord(rec)
	b.Run("v1", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeRecord(v1Value, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(v1Value)), "record-bytes")
	})
	b.Run("v2", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeRecord(v2Value, v2Headers); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(v2Value)+len(v2Headers[HeaderRecord])), "record-bytes")
	})
}

func TestMigrationsAreOrderedAndSplit(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || len(ms[0].Statements) < 4 {
		t.Fatalf("migrations = %+v", ms)
	}
	for _, m := range ms {
		for _, s := range m.Statements {
			if !bytes.Contains([]byte(s), []byte("{db}")) {
				t.Errorf("%s: statement without {db}: %.60s", m.Name, s)
			}
		}
	}
}
