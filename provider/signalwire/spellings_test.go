package signalwire

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// TestParamSpellingsBudget checks which spellings are tried: all of them
// for a callback of realistic size, the first always, and for a large body
// whose spellings all differ early, no more extra bytes than the first
// string is long.
func TestParamSpellingsBudget(t *testing.T) {
	const mib = 1 << 20
	early := "%EF%BD%A1=1&%F0%9F%98%80=1&0=b&0=a&0=a&" + largeForm(995, mib-40)
	late := largeForm(995, mib-40) + "&%EF%BD%A1=1&%F0%9F%98%80=1&zz=b&zz=a&zz=a"
	tests := []struct {
		name        string
		body        string
		wantTried   int // distinct strings tried
		wantSkipped bool
	}{
		{"no repeats, ASCII names", messageStatusForm("delivered").Encode(), 1, false},
		{"every spelling differs, small", sdkMixed, 6, false},
		{"every spelling differs early, 1 MiB", early, 2, true},
		{"every spelling differs late, 1 MiB", late, 6, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := provider.ParseParams(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			tried, skipped := paramSpellings(params)
			if len(tried) != tc.wantTried || (skipped != 0) != tc.wantSkipped {
				t.Fatalf("%d strings tried, skipped %q; want %d, skipped %v", len(tried), skipped, tc.wantTried, tc.wantSkipped)
			}
			if tried[0].spellings&1 == 0 {
				t.Fatalf("the first spelling is not tried")
			}
			var all spellingSet = skipped
			for _, sp := range tried {
				if all&sp.spellings != 0 {
					t.Fatalf("a spelling counted twice")
				}
				all |= sp.spellings
			}
			if all != 1<<len(allSpellings)-1 {
				t.Fatalf("spellings accounted for: %b", all)
			}
			tails := make([][]byte, len(tried))
			for i, sp := range tried {
				tails[i] = sp.tail
			}
			first := len(tried[0].tail)
			if extra := newTailTree(tails).size - first; extra > max(first, spellingBudget) {
				t.Fatalf("spellings add %d bytes to a %d-byte first string", extra, first)
			}
		})
	}
}

// TestVerifyLargeSpellings signs 1 MiB forms with the last spelling (names
// in UTF-16 order, values sorted without duplicates, as twilio-node), the
// string computed by the fuzz oracle's reference.
func TestVerifyLargeSpellings(t *testing.T) {
	const mib = 1 << 20
	v := newTestVerifier(t, keyCurrent)
	sign := func(body string) *provider.Request {
		r := formPost(publicURL, body)
		tails := referenceTails(r)
		mac := hmac.New(sha1.New, []byte(keyCurrent))
		mac.Write([]byte(publicURL + tails[len(tails)-1]))
		r.Header.Set(HeaderTwilioSignature, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		return r
	}

	late := sign(largeForm(995, mib-40) + "&%EF%BD%A1=1&%F0%9F%98%80=1&zz=b&zz=a&zz=a")
	if _, err := v.Verify(context.Background(), late); err != nil {
		t.Fatalf("a large callback whose spellings differ late: %v", err)
	}

	early := sign("%EF%BD%A1=1&%F0%9F%98%80=1&0=b&0=a&0=a&" + largeForm(995, mib-40))
	_, err := v.Verify(context.Background(), early)
	var rej *provider.Rejection
	if !errors.As(err, &rej) || rej.Reason != schema.ReasonBadSignature {
		t.Fatalf("Verify = %v; want bad_signature (the spelling is over the budget)", err)
	}
	if !strings.Contains(rej.Detail, "not tried, as they differ from those tried by more than the spelling budget: [names in byte order, repeated values sorted without duplicates; names in UTF-16 order") {
		t.Fatalf("detail does not name the spellings not tried: %s", provider.Clip(rej.Detail, 2000))
	}
}
