package signalwire

import (
	"crypto/hmac"
	"crypto/sha1"
	"hash"
	"strings"
	"testing"
)

// TestTailTreeMatch checks that matching over the shared-prefix tree finds
// exactly the tail a direct HMAC of URL + tail names, for tails that share
// prefixes, repeat, end inside one another or are empty.
func TestTailTreeMatch(t *testing.T) {
	long := strings.Repeat("MediaUrlhttps://m/a", 40) // longer than one commonPrefix chunk
	tests := []struct {
		name     string
		tails    []string
		wantSize int
	}{
		{"one", []string{"AccountSidAC1Bodyhi"}, 19},
		{"empty", []string{""}, 0},
		{"diverge at once", []string{"ab", "ba"}, 4},
		{"shared prefix", []string{long + "Tagb", long + "Taga", long + "Tagb" + "Tagc"}, len(long) + 3 + 1 + 1 + 4},
		{"prefix of another", []string{"Tag", "TagTag", ""}, 6},
		{"identical", []string{long, long, "x"}, len(long) + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tails := make([][]byte, len(tc.tails))
			for i, s := range tc.tails {
				tails[i] = []byte(s)
			}
			tree := newTailTree(tails)
			if tree.size != tc.wantSize {
				t.Errorf("size %d, want %d", tree.size, tc.wantSize)
			}
			for i, tail := range tc.tails {
				want := hmacOf(publicURL + tail)
				got, ok := tree.match(keyedURL(), want)
				if !ok || tc.tails[got] != tail || got > i {
					t.Errorf("tail %d: match = %d, %v", i, got, ok)
				}
				if string(tree.tail(got)) != tail {
					t.Errorf("tail(%d) = %q", got, tree.tail(got))
				}
			}
			if got, ok := tree.match(keyedURL(), hmacOf(publicURL+"other")); ok {
				t.Errorf("matched %d for a string that is no tail", got)
			}
		})
	}
}

func keyedURL() hash.Hash {
	m := hmac.New(sha1.New, []byte(keyCurrent))
	m.Write([]byte(publicURL))
	return m
}

func hmacOf(msg string) []byte {
	m := hmac.New(sha1.New, []byte(keyCurrent))
	m.Write([]byte(msg))
	return m.Sum(nil)
}
