package provider

import (
	"slices"
	"testing"
	"unicode/utf16"
)

// FuzzCompareUTF16 checks CompareUTF16 against a plain reading of
// JavaScript's string order: the UTF-16 encodings compared unit by unit.
func FuzzCompareUTF16(f *testing.F) {
	for _, p := range [][2]string{{"\uFF61", "\U0001F600"}, {"a", "ab"}, {"\U0001F600x", "\U0001F601"}, {"\xff", "\uFFFD"}, {"é", "e\u0301"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		want := slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
		if got := CompareUTF16(a, b); got != want {
			t.Fatalf("CompareUTF16(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}
