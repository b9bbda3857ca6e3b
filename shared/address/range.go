package address

import "strings"

// Parity limits a range to odd or even numbers.
type Parity uint8

// Parities. The Chinese names are what the back office and its xlsx import
// show: 全部, 单号, 双号.
const (
	ParityAll Parity = iota
	ParityOdd
	ParityEven
)

// String returns the stored name: "all", "odd" or "even".
func (p Parity) String() string {
	switch p {
	case ParityOdd:
		return "odd"
	case ParityEven:
		return "even"
	}
	return "all"
}

// Label returns the Chinese name.
func (p Parity) Label() string {
	switch p {
	case ParityOdd:
		return "单号"
	case ParityEven:
		return "双号"
	}
	return "全部"
}

// ParseParity reads a stored or Chinese parity name. The empty string is
// ParityAll. It returns an *Error with CodeInvalidParity otherwise.
func ParseParity(text string) (Parity, error) {
	switch strings.TrimSpace(text) {
	case "", "all", "全部", "不限":
		return ParityAll, nil
	case "odd", "单号", "单":
		return ParityOdd, nil
	case "even", "双号", "双":
		return ParityEven, nil
	}
	return ParityAll, errInvalidParity(text)
}

func (p Parity) allows(value int) bool {
	switch p {
	case ParityOdd:
		return value%2 == 1
	case ParityEven:
		return value%2 == 0
	}
	return true
}

// Unit is the kind of number a Range counts.
type Unit uint8

// Units of a range.
const (
	// UnitRoad covers the whole road ("漕溪北路"), one side of it with a
	// parity.
	UnitRoad Unit = iota
	// UnitLane counts lanes ("漕溪北路1~5弄"); every house in them matches.
	UnitLane
	// UnitSubLane covers one sub-lane ("漕溪北路100弄3支弄").
	UnitSubLane
	// UnitHouse counts house numbers, on the road itself ("100-120号") or
	// inside one lane or sub-lane ("100弄1-20号").
	UnitHouse
)

// Range is a set of addresses on one road: the rule of matching mode 2.
// From and To are inclusive. A From without suffix starts at the bare
// number, so "100-120号" covers 100号甲. A To without suffix covers every
// suffix of its number, so the same range covers 120号乙; a To with a suffix
// ends there ("100-120号乙" leaves out 120号丙). Parity looks at the number
// without its suffix.
type Range struct {
	Road    string
	Unit    Unit
	Lane    Number // the fixed lane of UnitSubLane and UnitHouse, or zero
	SubLane int    // the fixed sub-lane, or 0
	From    Number
	To      Number
	Parity  Parity
}

// ParseRange parses a range such as "漕溪北路100-120号", "漕溪北路100号-120号",
// "漕溪北路1~5弄", "漕溪北路100弄", "漕溪北路100弄1-20号",
// "漕溪北路100弄3支弄1-9号" or a bare road "漕溪北路".
//
// It returns an *Error with CodeMissingRoad, CodeInvalidRange,
// CodeReversedRange, CodeNumberTooLarge or CodeParityOfSingleNumber.
func ParseRange(text string, parity Parity) (Range, error) {
	road, rest := splitRoad(Normalise(text))
	if road == "" {
		return Range{}, errMissingRoad(text)
	}
	r := Range{Road: road, Parity: parity}
	if rest == "" {
		return r, nil
	}

	parts, err := rangeParts(rest, text)
	if err != nil {
		return Range{}, err
	}
	switch {
	case len(parts) == 1 && parts[0].marker == "弄":
		r.Unit, r.From, r.To = UnitLane, parts[0].from, parts[0].to
	case len(parts) == 1 && parts[0].marker == "号":
		r.Unit, r.From, r.To = UnitHouse, parts[0].from, parts[0].to
	case len(parts) == 2 && parts[0].single() && parts[0].marker == "弄" && parts[1].marker == "支弄" && parts[1].single():
		r.Unit, r.Lane, r.SubLane = UnitSubLane, parts[0].from, parts[1].from.Value
	case len(parts) == 2 && parts[0].single() && parts[0].marker == "弄" && parts[1].marker == "号":
		r.Unit, r.Lane, r.From, r.To = UnitHouse, parts[0].from, parts[1].from, parts[1].to
	case len(parts) == 3 && parts[0].single() && parts[0].marker == "弄" && parts[1].marker == "支弄" && parts[1].single() && parts[2].marker == "号":
		r.Unit, r.Lane, r.SubLane, r.From, r.To = UnitHouse, parts[0].from, parts[1].from.Value, parts[2].from, parts[2].to
	default:
		return Range{}, errInvalidRange(text)
	}

	if r.Unit == UnitLane || r.Unit == UnitHouse {
		if compareNumbers(r.From, r.To) > 0 {
			return Range{}, errReversedRange(text)
		}
		if r.From.Value == r.To.Value && !parity.allows(r.From.Value) {
			return Range{}, errParityOfSingleNumber(text)
		}
	}
	return r, nil
}

// rangePart is "N弄", "N-M号", "N号-M号" and the like.
type rangePart struct {
	from, to Number
	marker   string
}

func (p rangePart) single() bool { return p.from == p.to }

func rangeParts(rest, text string) ([]rangePart, error) {
	s := scanner{text: rest}
	var parts []rangePart
	for !s.done() {
		if !s.atNumber() {
			return nil, errInvalidRange(text)
		}
		from, marker, ok := s.rangeItem()
		if !ok {
			return nil, errNumberTooLarge(text)
		}
		part := rangePart{from: from, to: from, marker: marker}
		if s.atRangeSeparator() {
			s.skipRune()
			if !s.atNumber() {
				return nil, errInvalidRange(text)
			}
			to, toMarker, ok := s.rangeItem()
			if !ok {
				return nil, errNumberTooLarge(text)
			}
			if toMarker == "" || marker != "" && marker != toMarker {
				return nil, errInvalidRange(text)
			}
			part.to, part.marker = to, toMarker
		}
		if part.marker == "" {
			return nil, errInvalidRange(text)
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// rangeItem reads a number and its marker (支弄, 弄 or 号, or "" when the
// range separator follows).
func (s *scanner) rangeItem() (Number, string, bool) {
	n, ok := s.number()
	if !ok {
		return Number{}, "", false
	}
	switch {
	case s.accept("支弄"):
		return n, "支弄", true
	case s.accept("弄"):
		return n, "弄", true
	case s.accept("号"):
		if n.Suffix == 0 {
			n.Suffix = s.suffix()
		}
		return n, "号", true
	}
	return n, "", true
}

// compareNumbers orders by value, then a bare number before its suffixes.
func compareNumbers(a, b Number) int {
	switch {
	case a.Value != b.Value:
		return a.Value - b.Value
	default:
		return suffixRank(a.Suffix) - suffixRank(b.Suffix)
	}
}

// within reports whether n lies between From and To with the range's parity.
func (r *Range) within(n Number) bool {
	if n.IsZero() || !r.Parity.allows(n.Value) {
		return false
	}
	if compareNumbers(n, r.From) < 0 {
		return false
	}
	if r.To.Suffix == 0 {
		return n.Value <= r.To.Value
	}
	return compareNumbers(n, r.To) <= 0
}

// frontage is the number of an address along its road: the lane's number
// for a house inside a lane, else the house number.
func frontage(a *Address) Number {
	if !a.Lane.IsZero() {
		return a.Lane
	}
	return a.House
}

// Contains reports whether the address lies in the range. A range with no
// lane compares the frontage number: the lane's number for an address inside
// a lane ("漕溪北路100弄3号" counts as 100 in "漕溪北路100-120号"), else the
// house number.
func (r *Range) Contains(a *Address) bool {
	if a.Road != r.Road {
		return false
	}
	switch r.Unit {
	case UnitRoad:
		return r.Parity.allows(frontage(a).Value)
	case UnitLane:
		return r.within(a.Lane)
	case UnitSubLane:
		return a.Lane == r.Lane && a.SubLane == r.SubLane && r.Parity.allows(a.House.Value)
	}
	if r.Lane.IsZero() {
		return r.within(frontage(a))
	}
	return a.Lane == r.Lane && a.SubLane == r.SubLane && r.within(a.House)
}

// String formats the range in its normal form, such as "漕溪北路100弄1-20号";
// ParseRange of the result gives the same range.
func (r *Range) String() string {
	var b strings.Builder
	b.WriteString(r.Road)
	span := func(marker string) {
		b.WriteString(r.From.String())
		if r.From != r.To {
			b.WriteString("-")
			b.WriteString(r.To.String())
		}
		b.WriteString(marker)
	}
	switch r.Unit {
	case UnitLane:
		span("弄")
		return b.String()
	case UnitSubLane, UnitHouse:
		if !r.Lane.IsZero() {
			b.WriteString(r.Lane.String() + "弄")
		}
		if r.SubLane != 0 {
			b.WriteString(itoa(r.SubLane) + "支弄")
		}
	}
	if r.Unit == UnitHouse {
		span("号")
	}
	return b.String()
}
