package signalwire

import (
	"slices"
	"strings"

	"github.com/hookledger/hookledger/provider"
)

// collation is the string order a signer sorts parameter names (and, when
// it sorts them, repeated values) by.
type collation uint8

const (
	// byteOrder compares UTF-8 bytes, which is code point order: Go's
	// sort.Strings (twilio-go, SignSchemeB).
	byteOrder collation = iota
	// utf16Order compares UTF-16 code units: JavaScript's default
	// Array.prototype.sort (twilio-node, @signalwire/compatibility-api).
	// It differs from byteOrder only between a character at or above
	// U+E000 in the BMP and one outside the BMP.
	utf16Order
)

// valueOrder is how a signer writes the values of a repeated name.
type valueOrder uint8

const (
	valuesReceived     valueOrder = iota // in received order (@signalwire/compatibility-api, twilio-go)
	valuesSorted                         // sorted (docs/signatures.md#signalwire)
	valuesSortedUnique                   // sorted, duplicates dropped (twilio-node 6.x)
)

// spelling is one way of writing the scheme B parameter string: name +
// value of every parameter, names sorted by names, repeated values ordered
// by values (sorted with the same collation as the names).
type spelling struct {
	names  collation
	values valueOrder
}

// allSpellings lists the spellings verification tries, in the order a
// match is reported: byte order with values as received first.
var allSpellings = [...]spelling{
	{byteOrder, valuesReceived}, {byteOrder, valuesSorted}, {byteOrder, valuesSortedUnique},
	{utf16Order, valuesReceived}, {utf16Order, valuesSorted}, {utf16Order, valuesSortedUnique},
}

// String describes s for diagnoses.
func (s spelling) String() string {
	names := "names in byte order"
	if s.names == utf16Order {
		names = "names in UTF-16 order"
	}
	switch s.values {
	case valuesSorted:
		return names + ", repeated values sorted"
	case valuesSortedUnique:
		return names + ", repeated values sorted without duplicates"
	}
	return names + ", repeated values as received"
}

// spellingSet is a set of allSpellings, bit i standing for allSpellings[i].
type spellingSet uint8

// String names the spellings of the set, which write the same string.
func (set spellingSet) String() string {
	var names []string
	for i, s := range allSpellings {
		if set&(1<<i) != 0 {
			names = append(names, s.String())
		}
	}
	return strings.Join(names, " = ")
}

// spelled is the parameter string of the spellings in a set, which write
// it identically.
type spelled struct {
	tail      []byte
	spellings spellingSet
}

// spellingBudget is the least number of bytes the spellings after the
// first may add to what one key and URL hash (see paramSpellings).
const spellingBudget = 64 << 10

// paramSpellings returns the distinct scheme B parameter strings of params
// with the spellings that produce each, in allSpellings order, and the
// spellings not tried. Each string is built once, and only for spellings
// that write it differently from an earlier one: with ASCII names and no
// repeated name (every SignalWire callback but an inbound message with
// several media) there is one. params is not modified.
//
// The strings are hashed together (tailTree), so a spelling costs the bytes
// by which it differs from those before it. Those extra bytes are bounded
// by the length of the first string or spellingBudget, whichever is
// larger: a spelling that would exceed what is left is not tried. Every
// spelling of any parameter string up to 13 KiB (a genuine callback is a
// few KiB) is always tried; a forged body that makes every spelling differ
// from its first byte costs at most twice its first spelling.
func paramSpellings(params []provider.Param) (tried []spelled, skipped spellingSet) {
	g := groupParams(params)
	var utf16Names []int // group order by UTF-16 names; nil when it is the byte order
	for i := 1; i < g.len(); i++ {
		if provider.CompareUTF16(g.name(i-1), g.name(i)) > 0 {
			utf16Names = make([]int, g.len())
			for j := range utf16Names {
				utf16Names[j] = j
			}
			slices.SortStableFunc(utf16Names, func(a, b int) int { return provider.CompareUTF16(g.name(a), g.name(b)) })
			break
		}
	}
	var seen [len(allSpellings)]struct {
		l    layout
		set  spellingSet
		kept int // index in tried, -1 when not tried
	}
	distinct, budget := 0, spellingBudget
	tried = make([]spelled, 0, 1)
	var scratch []byte // the buffer of a string not tried, reused
next:
	for i, s := range allSpellings {
		l := layout{g: g}
		compare := strings.Compare
		if s.names == utf16Order {
			l.order, compare = utf16Names, provider.CompareUTF16
		}
		if s.values != valuesReceived {
			l.values = g.reorderedValues(s.values, compare)
		}
		for j := range distinct {
			if seen[j].l.equal(l) {
				if k := seen[j].kept; k >= 0 {
					tried[k].spellings |= 1 << i
				} else {
					skipped |= 1 << i
				}
				continue next
			}
		}
		seen[distinct].l, seen[distinct].kept = l, -1
		distinct++
		if scratch == nil {
			scratch = make([]byte, 0, paramsLen(params))
		}
		tail := l.appendTo(scratch[:0])
		if i == 0 {
			budget = max(budget, len(tail))
		} else {
			extra := len(tail)
			for _, t := range tried {
				extra = min(extra, len(tail)-commonPrefix(tail, t.tail))
			}
			if extra > budget {
				skipped |= 1 << i
				continue
			}
			budget -= extra
		}
		scratch = nil
		seen[distinct-1].kept = len(tried)
		tried = append(tried, spelled{tail: tail, spellings: 1 << i})
	}
	return tried, skipped
}

// paramGroups is params grouped by name: sorted by name in byte order,
// each name's values in received order.
type paramGroups struct {
	params []provider.Param
	starts []int // group i is params[starts[i]:starts[i+1]]
}

func groupParams(params []provider.Param) paramGroups {
	g := paramGroups{params: sortParams(params, false), starts: make([]int, 0, len(params)+1)}
	for i, p := range g.params {
		if i == 0 || g.params[i-1].Name != p.Name {
			g.starts = append(g.starts, i)
		}
	}
	g.starts = append(g.starts, len(g.params))
	return g
}

func (g paramGroups) len() int                     { return len(g.starts) - 1 }
func (g paramGroups) name(i int) string            { return g.params[g.starts[i]].Name }
func (g paramGroups) group(i int) []provider.Param { return g.params[g.starts[i]:g.starts[i+1]] }

// reorderedValues returns, per group, its values in order when that
// differs from the received order (nil entries otherwise), or nil when no
// group's differs.
func (g paramGroups) reorderedValues(order valueOrder, compare func(a, b string) int) [][]string {
	var out [][]string
	for i := 0; i < g.len(); i++ {
		group := g.group(i)
		if len(group) < 2 {
			continue
		}
		values := make([]string, len(group))
		for j, p := range group {
			values[j] = p.Value
		}
		ordered := orderValues(values, order, compare)
		if slices.Equal(ordered, values) {
			continue
		}
		if out == nil {
			out = make([][]string, g.len())
		}
		out[i] = ordered
	}
	return out
}

// layout is what a spelling writes: the groups in an order (nil: byte
// order), each with its values as received or, where values has an entry,
// those. Equal layouts write the same string.
type layout struct {
	g      paramGroups
	order  []int
	values [][]string
}

func (l layout) equal(o layout) bool {
	if !slices.Equal(l.order, o.order) || (l.values == nil) != (o.values == nil) {
		return false
	}
	return l.values == nil || slices.EqualFunc(l.values, o.values, slices.Equal[[]string])
}

// appendTo appends the parameter string: name + value for each value.
func (l layout) appendTo(dst []byte) []byte {
	for k := 0; k < l.g.len(); k++ {
		i := k
		if l.order != nil {
			i = l.order[k]
		}
		name := l.g.name(i)
		if l.values != nil && l.values[i] != nil {
			for _, v := range l.values[i] {
				dst = append(append(dst, name...), v...)
			}
			continue
		}
		for _, p := range l.g.group(i) {
			dst = append(append(dst, name...), p.Value...)
		}
	}
	return dst
}

// orderValues returns values sorted by compare, without duplicates for
// valuesSortedUnique. values is not modified.
func orderValues(values []string, order valueOrder, compare func(a, b string) int) []string {
	var sorted []string
	if order == valuesSortedUnique {
		// As JavaScript's Set: exact repeats dropped, first occurrences
		// kept in received order (collation ties between different
		// strings are not repeats).
		seen := make(map[string]bool, len(values))
		for _, v := range values {
			if !seen[v] {
				seen[v] = true
				sorted = append(sorted, v)
			}
		}
	} else {
		sorted = slices.Clone(values)
	}
	slices.SortStableFunc(sorted, compare)
	return sorted
}
