package signalwire

import (
	"bytes"
	"crypto/hmac"
	"hash"
)

// tailTree holds the strings that may follow the URL in the signed bytes
// (the raw body for scheme A; one parameter string per spelling for scheme
// B) as a tree of their common prefixes. Matching one key and URL hashes
// every distinct byte of the tails once: the HMAC state after a shared
// prefix is cloned for each way the tails continue, instead of hashing
// the URL and the whole string again for every spelling.
//
// Invariant: there is at least one tail; size is the number of bytes one
// match hashes after the URL (at most the sum of the tails' lengths,
// exactly the length of the tail when there is one).
type tailTree struct {
	tails [][]byte // nil when the only tail is root.seg
	root  tailNode
	size  int
}

// tailNode is a segment shared by the tails of its subtree.
type tailNode struct {
	seg      []byte
	ends     []int // indices of the tails that end after seg, ascending
	children []*tailNode
}

// onlyTail is the ends of the root of a single-tail tree (read only).
var onlyTail = []int{0}

// singleTail is the tree of one tail: the raw body of scheme A, the
// parameter string of a form whose spellings all agree, nothing at all.
func singleTail(tail []byte) tailTree {
	return tailTree{root: tailNode{seg: tail, ends: onlyTail}, size: len(tail)}
}

// newTailTree builds the tree of several tails.
func newTailTree(tails [][]byte) tailTree {
	if len(tails) == 1 {
		return singleTail(tails[0])
	}
	idx := make([]int, len(tails))
	for i := range idx {
		idx[i] = i
	}
	t := tailTree{tails: tails}
	t.root = *t.build(idx, 0)
	return t
}

// tail returns the tail of index i.
func (t *tailTree) tail(i int) []byte {
	if t.tails == nil {
		return t.root.seg
	}
	return t.tails[i]
}

// build makes the node of the tails idx (ascending), which all share their
// first off bytes.
func (t *tailTree) build(idx []int, off int) *tailNode {
	first := t.tails[idx[0]]
	end := len(first)
	for _, i := range idx[1:] {
		end = off + commonPrefix(first[off:end], t.tails[i][off:])
	}
	n := &tailNode{seg: first[off:end]}
	t.size += end - off
	var rest []int
	for _, i := range idx {
		if len(t.tails[i]) == end {
			n.ends = append(n.ends, i)
		} else {
			rest = append(rest, i)
		}
	}
	// One child per next byte, in order of the smallest tail index, so
	// that the walk meets the tails in the order they were given.
	for len(rest) > 0 {
		next := t.tails[rest[0]][end]
		var same, other []int
		for _, i := range rest {
			if t.tails[i][end] == next {
				same = append(same, i)
			} else {
				other = append(other, i)
			}
		}
		n.children = append(n.children, t.build(same, end))
		rest = other
	}
	return n
}

// match continues mac (keyed, with the URL written) over every tail and
// returns the index of the first tail whose HMAC equals want. At most one
// distinct string can match; tails equal to it share its node, and the
// smallest index is reported. mac is consumed. Comparisons are
// constant-time.
func (t *tailTree) match(mac hash.Hash, want []byte) (int, bool) {
	var sum [64]byte
	return t.root.match(mac, want, sum[:0])
}

func (n *tailNode) match(mac hash.Hash, want, sum []byte) (int, bool) {
	mac.Write(n.seg)
	if len(n.ends) > 0 && hmac.Equal(mac.Sum(sum), want) {
		return n.ends[0], true
	}
	for i, c := range n.children {
		h := mac
		if i < len(n.children)-1 {
			h = cloneHash(mac)
		}
		if idx, ok := c.match(h, want, sum); ok {
			return idx, true
		}
	}
	return 0, false
}

// cloneHash copies an HMAC state. Every hash.Hash of the standard library,
// and crypto/hmac over them, implements hash.Cloner since Go 1.25; this
// package only uses SHA-1 and SHA-256.
func cloneHash(h hash.Hash) hash.Hash {
	c, err := h.(hash.Cloner).Clone()
	if err != nil {
		panic("signalwire: HMAC state cannot be cloned: " + err.Error())
	}
	return c
}

// commonPrefix returns the length of the longest common prefix of a and b,
// comparing in chunks (bytes.Equal is vectorised) before the last bytes.
func commonPrefix(a, b []byte) int {
	const chunk = 256
	n := min(len(a), len(b))
	i := 0
	for i+chunk <= n && bytes.Equal(a[i:i+chunk], b[i:i+chunk]) {
		i += chunk
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}
