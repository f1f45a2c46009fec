package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// Conformance tests of single reads: an object is (tenant, provider, id).
// Any tenant can sign any id for its own source, so two tenants reporting
// the same id must stay two objects: a single read never merges their
// names, statuses or events.

// sameIDTwoTenants stores message SM1 and call CA1 under signalwire for
// both acme and globex, each with its own source, addresses and history,
// and a Vonage conversation CON-1 in both tenants, each with a recording.
func sameIDTwoTenants(t *testing.T, s *storage.Store) {
	t.Helper()
	const sec = time.Second
	acmeSent := withSource(msgEvent("acme", "signalwire", "SM1", "sent", 2*sec, 2*sec), "sw-acme", "+1555000A", "+1555000B")
	globexDelivered := withSource(msgEvent("globex", "signalwire", "SM1", "delivered", 1*sec, 9*sec), "sw-globex", "+1555000G", "+1555000H")
	globexCall := callEvent("globex", "signalwire", "CA1", "completed", "", 3*sec, 9*sec)
	globexCall.Source, globexCall.To = "sw-globex", "+1555000G"
	leg := func(tenant string) schema.CallEvent {
		ev := callEvent(tenant, "vonage", "LEG-"+tenant, "answered", "", 1*sec, 1*sec)
		ev.ConversationID = "CON-1"
		return ev
	}
	recording := func(tenant string, occurred time.Duration) schema.CallEvent {
		ev := callEvent(tenant, "vonage", "", "", "record", occurred, occurred)
		ev.ConversationID, ev.DedupKey, ev.Detail = "CON-1", "vonage:call:CON-1|record|"+tenant, "recording of "+tenant
		return ev
	}
	insert(t, s,
		messages(msgEvent("acme", "signalwire", "SM1", "queued", 1*sec, 1*sec), acmeSent),
		messages(globexDelivered),
		calls(callEvent("acme", "signalwire", "CA1", "ringing", "", 1*sec, 1*sec)),
		calls(globexCall),
		calls(leg("acme"), leg("globex"), recording("acme", 5*sec), recording("globex", 6*sec)),
	)
}

// testSingleReadsKeepTenantsApart: the same id in two tenants reads as two
// messages (and calls), each with its own tenant, source, status and
// events; a tenant's token, or ?tenant=, picks one.
func testSingleReadsKeepTenantsApart(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	sameIDTwoTenants(t, s)

	msgs, err := s.Messages(ctx, all, "SM1", storage.Owner{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages(SM1) = %+v, %v; want one per tenant", msgs, err)
	}
	acme, globex := msgs[0], msgs[1]
	if acme.Tenant != "acme" || acme.Source != "sw-acme" || acme.Status != "sent" || acme.To != "+1555000A" || len(acme.Events) != 2 {
		t.Errorf("acme's SM1 = %+v", acme)
	}
	if globex.Tenant != "globex" || globex.Source != "sw-globex" || globex.Status != "delivered" || globex.To != "+1555000G" || len(globex.Events) != 1 {
		t.Errorf("globex's SM1 = %+v", globex)
	}
	if got, err := s.Messages(ctx, storage.Scope{Tenants: []string{"acme"}}, "SM1", storage.Owner{}); err != nil || len(got) != 1 ||
		got[0].Status != "sent" || len(got[0].Events) != 2 {
		t.Errorf("acme's token reads SM1 as %+v, %v", got, err)
	}

	if got, err := s.Messages(ctx, all, "SM1", storage.Owner{Tenant: "globex", Provider: "signalwire"}); err != nil || len(got) != 1 ||
		got[0].Tenant != "globex" || got[0].Status != "delivered" {
		t.Errorf("SM1 narrowed to globex = %+v, %v", got, err)
	}
	if _, err := s.Messages(ctx, storage.Scope{Tenants: []string{"acme"}}, "SM1", storage.Owner{Tenant: "globex"}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("acme's token narrowed to globex: %v, want not found", err)
	}

	callsGot, err := s.Calls(ctx, all, "CA1", storage.Owner{})
	if err != nil || len(callsGot) != 2 {
		t.Fatalf("Calls(CA1) = %+v, %v; want one per tenant", callsGot, err)
	}
	if a, g := callsGot[0], callsGot[1]; a.Tenant != "acme" || a.Status != "ringing" || len(a.Events) != 1 ||
		g.Tenant != "globex" || g.Status != "completed" || g.Source != "sw-globex" || len(g.Events) != 1 {
		t.Errorf("CA1 per tenant = %+v", callsGot)
	}
	if got, err := s.Calls(ctx, all, "CA1", storage.Owner{Tenant: "acme"}); err != nil || len(got) != 1 || got[0].Status != "ringing" {
		t.Errorf("CA1 narrowed to acme = %+v, %v", got, err)
	}

	// A conversation id shared by two tenants: each call's timeline holds
	// its own tenant's recording only.
	for _, tenant := range []string{"acme", "globex"} {
		got, err := s.Calls(ctx, all, "LEG-"+tenant, storage.Owner{})
		if err != nil || len(got) != 1 {
			t.Fatalf("Calls(LEG-%s) = %+v, %v", tenant, got, err)
		}
		var details []string
		for _, e := range got[0].Events {
			details = append(details, e.Detail)
		}
		if want := []string{"", "recording of " + tenant}; !slices.Equal(details, want) {
			t.Errorf("LEG-%s timeline details %q, want %q", tenant, details, want)
		}
	}
}
