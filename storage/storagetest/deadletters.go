package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// testDeadLetterMarksTheCallback: a dead-lettered callback says so in its
// record, with the latest error, however often the processor (redelivery)
// or replay marks it; an unmarked callback says it is not dead-lettered,
// and a mark of another tenant's event id marks nothing.
func testDeadLetterMarksTheCallback(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	marked, plain := rawRecord("acme", []byte("MessageSid=%FF")), rawRecord("acme", []byte("MessageSid=SM1"))
	for _, r := range []*schema.Record{marked, plain} {
		r.Verdict, r.Reason, r.Detail, r.KeyID = schema.VerdictAccepted, "", "", "sha256:000000000000"
	}
	if err := s.InsertCallbacks(ctx, []*schema.Record{marked, plain}); err != nil {
		t.Fatal(err)
	}
	mark := func(tenant, msg string, at int) schema.DeadLetter {
		return schema.DeadLetter{
			EventID: marked.ID, Tenant: tenant, Source: marked.Source, Provider: marked.Provider,
			ReceivedAt: marked.ReceivedAt, DeadAt: base.Add(time.Duration(at) * time.Second), Unusable: true, Error: msg,
		}
	}
	for _, batch := range [][]schema.DeadLetter{
		{mark("acme", "first attempt", 10)},
		{mark("acme", "first attempt", 10)},                                                     // redelivery of the same batch
		{mark("acme", "unusable: id is not UTF-8", 20), mark("globex", "another tenant's", 30)}, // replay, later
	} {
		if err := s.InsertDeadLetters(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Callback(ctx, storage.Scope{All: true}, marked.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if !got.DeadLettered || got.DeadLetterError != "unusable: id is not UTF-8" || got.DeadLetteredAt == nil ||
		!got.DeadLetteredAt.Equal(base.Add(time.Duration(20)*time.Second)) || got.Verdict != string(schema.VerdictAccepted) {
		t.Errorf("dead-lettered callback = %+v (at %v)", got, got.DeadLetteredAt)
	}
	got, err = s.Callback(ctx, storage.Scope{All: true}, plain.ID.String())
	if err != nil || got.DeadLettered || got.DeadLetterError != "" || got.DeadLetteredAt != nil {
		t.Errorf("plain callback = %+v, %v; want not dead-lettered", got, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Callback(ctx, storage.Scope{Tenants: []string{"acme"}}, marked.ID.String()); err != nil || !got.DeadLettered {
		t.Errorf("after migrating again: %+v, %v", got, err)
	}
}
