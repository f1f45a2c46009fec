package provider

import (
	"cmp"
	"unicode/utf8"
)

// CompareUTF16 orders a and b as JavaScript compares strings (and sorts
// them by default): by UTF-16 code units. It differs from byte order, which
// is code point order, only between a character at or above U+E000 in the
// BMP and one outside the BMP. Bytes that are not UTF-8 count as U+FFFD, as a JavaScript
// signer decoding them would have seen.
func CompareUTF16(a, b string) int {
	// Skip the common prefix, back to the start of the rune it ends in.
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	for i > 0 && (i < len(a) && !utf8.RuneStart(a[i]) || i < len(b) && !utf8.RuneStart(b[i])) {
		i--
	}
	ia, ib := i, i
	for ia < len(a) && ib < len(b) {
		ra, na := utf8.DecodeRuneInString(a[ia:])
		rb, nb := utf8.DecodeRuneInString(b[ib:])
		if ra != rb {
			return cmp.Compare(utf16Key(ra), utf16Key(rb))
		}
		ia, ib = ia+na, ib+nb
	}
	return cmp.Compare(len(a)-ia, len(b)-ib)
}

// utf16Key maps a rune to an integer whose order is the order of its UTF-16
// code units: a BMP character is its one unit, a supplementary character
// its high surrogate then its low surrogate.
func utf16Key(r rune) int32 {
	if r < 0x10000 {
		return r << 10
	}
	r -= 0x10000
	return (0xD800+r>>10)<<10 | r&0x3FF
}
