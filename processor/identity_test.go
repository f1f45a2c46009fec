package processor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// acceptedRecord is a verified callback of provider as ingest records it.
func acceptedRecord(prov, contentType, body string) *schema.Record {
	return &schema.Record{
		Version: schema.RecordVersion, ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(),
		Source: prov + "-main", Provider: prov, Tenant: "acme", Method: http.MethodPost,
		URL: "https://hooks.example.com/hooks/" + prov + "-main", Headers: http.Header{"Content-Type": {contentType}},
		Verdict: schema.VerdictAccepted, Body: []byte(body), BodyBytes: len(body),
	}
}

const (
	form    = "application/x-www-form-urlencoded"
	jsonCT  = "application/json"
	uuidPad = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab" // a Vonage message_uuid
)

// TestIDsAreStoredExactlyOrRefused: an id is kept byte for byte or the
// record is refused as unusable (dead letters; the raw request stays in the
// audit table). It is never rewritten: invalid UTF-8 turned into U+FFFD
// made distinct ids collide and the original id answer 404.
func TestIDsAreStoredExactlyOrRefused(t *testing.T) {
	t.Parallel()
	store := chdbtest.Store(t)
	reg := providers.All()
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		rec    *schema.Record
		id     string // as the provider sent it
		usable bool
	}{
		{"signalwire plain sid", acceptedRecord("signalwire", form, "MessageSid=SM0123&MessageStatus=sent&To=%2B15550002222"), "SM0123", true},
		{"signalwire sid with a percent-encoded colon", acceptedRecord("signalwire", form, "MessageSid=SM%3A1&MessageStatus=sent"), "SM:1", true},
		{"signalwire sid with byte FF", acceptedRecord("signalwire", form, "MessageSid=SM%FF&MessageStatus=sent"), "SM\xff", false},
		{"signalwire sid with byte FE", acceptedRecord("signalwire", form, "MessageSid=SM%FE&MessageStatus=sent"), "SM\xfe", false},
		{"signalwire sid holding U+FFFD", acceptedRecord("signalwire", form, "MessageSid=SM%EF%BF%BD&MessageStatus=sent"), "SM\uFFFD", false},
		{"signalwire call sid with byte FF", acceptedRecord("signalwire", form, "CallSid=CA%FF&CallStatus=ringing"), "CA\xff", false},
		{"signalwire overlong sid", acceptedRecord("signalwire", form, "MessageSid=SM"+strings.Repeat("9", schema.MaxIDBytes)+"&MessageStatus=sent"), "SM" + strings.Repeat("9", schema.MaxIDBytes), false},
		{"vonage uuid with raw byte FF in JSON", acceptedRecord("vonage", jsonCT, `{"message_uuid":"`+uuidPad+"\xff"+`","status":"delivered","timestamp":"2024-04-04T18:32:10Z"}`), uuidPad + "\xff", false},
		{"vonage uuid with a lone surrogate escape", acceptedRecord("vonage", jsonCT, `{"message_uuid":"`+uuidPad+`\ud800","status":"delivered","timestamp":"2024-04-04T18:32:10Z"}`), uuidPad + `\ud800`, false},
		{"messagemedia report", acceptedRecord("messagemedia", jsonCT, `{"message_id":"`+uuidPad+`","delivery_report_id":"d1","status":"delivered","date_received":"2024-04-04T18:32:10Z"}`), uuidPad, true},
		{"messagemedia report id with byte FF", acceptedRecord("messagemedia", jsonCT, `{"message_id":"m`+"\xff"+`","delivery_report_id":"d1","status":"delivered","date_received":"2024-04-04T18:32:10Z"}`), "m\xff", false},
	} {
		n, err := NormaliseRecord(reg, c.rec)
		if !c.usable {
			if !errors.Is(err, provider.ErrUnusable) {
				t.Errorf("%s: normalised to %+v, %v; want the record refused as unusable", c.name, n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := store.InsertNormalised(ctx, n); err != nil {
			t.Fatal(err)
		}
		got, err := store.Messages(ctx, storage.Scope{All: true}, c.id, storage.Owner{})
		if err != nil || got[0].MessageID != c.id {
			t.Errorf("%s: reading %q back: %+v, %v", c.name, c.id, got, err)
		}
	}
}
