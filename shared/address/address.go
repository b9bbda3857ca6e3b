// Package address parses Shanghai street addresses such as
// "徐汇区漕溪北路１００弄３支弄５号甲５０２室" into road, lane (弄), sub-lane
// (支弄), house number (号) with its 甲/乙 suffix, and room, and matches them
// against house-number ranges like "漕溪北路100-120号" with a parity.
//
// Both binaries use it: the edge when a parent requests the campuses an
// address is matched to, the back office when it validates the rules over
// the year's registration addresses.
package address

import (
	"strings"
	"unicode/utf8"
)

// Number is a lane or house number with an optional suffix: 0 for none, a
// heavenly stem 甲…癸 or an ASCII capital letter. "12号乙" is {12, '乙'}.
type Number struct {
	Value  int
	Suffix rune
}

// IsZero reports whether the number is missing.
func (n Number) IsZero() bool { return n.Value == 0 }

// String formats the number as it is written in an address, without the
// marker: "12", "12乙".
func (n Number) String() string {
	if n.Suffix == 0 {
		return itoa(n.Value)
	}
	return itoa(n.Value) + string(n.Suffix)
}

// Address is a parsed street address. A zero Lane, SubLane or House means the
// text has none.
type Address struct {
	Road    string
	Lane    Number
	SubLane int
	House   Number
	Room    string
}

// maxNumber bounds every lane, house and room number, so that a mistyped
// number such as 1234567号 is rejected instead of overflowing.
const maxNumber = 99999

// Parse parses one address. The text may start with 上海(市), a district
// and a street or town (they are dropped), and may carry a compound name, a
// floor, a stairwell (单元) or a village group (组) between the numbers (they
// are skipped). A bare number at the end without 号 is taken as the house
// number.
//
// It returns an *Error with code CodeMissingRoad, CodeMissingNumber,
// CodeRangeInAddress, CodeNumberTooLarge or CodeSubLaneWithoutLane.
func Parse(text string) (Address, error) {
	normal := Normalise(text)
	road, rest := splitRoad(normal)
	if road == "" {
		return Address{}, errMissingRoad(text)
	}

	var a Address
	s := scanner{text: rest}
	for !s.done() {
		if !s.atNumber() {
			s.skipRune()
			continue
		}
		number, ok := s.number()
		if !ok {
			return Address{}, errNumberTooLarge(text)
		}
		switch {
		case s.accept("支弄"):
			if a.Lane.IsZero() {
				return Address{}, errSubLaneWithoutLane(text)
			}
			a.SubLane = number.Value
		case s.accept("弄"):
			a.Lane = number
		case s.accept("号楼"), s.accept("号"), s.accept("幢"), s.accept("栋"):
			if !a.House.IsZero() {
				continue // "5号楼3号" names a building then a door; keep the first
			}
			if number.Suffix == 0 {
				number.Suffix = s.suffix()
			}
			a.House = number
		case s.accept("室"):
			a.Room = number.String()
		case s.accept("层"), s.accept("楼"), s.accept("单元"), s.accept("组"):
			// a floor, a stairwell (单元) or a village group (组) does not
			// affect matching
		case s.atRangeSeparator():
			return Address{}, errRangeInAddress(text)
		case s.done() && a.House.IsZero():
			a.House = number
		case s.done():
			a.Room = number.String()
		case a.Lane.IsZero() && a.House.IsZero():
			// "漕溪北路100（近宛平路）": the first number, without 号
			a.House = number
		}
	}
	if a.Lane.IsZero() && a.House.IsZero() {
		return Address{}, errMissingNumber(text)
	}
	a.Road = road
	return a, nil
}

// Normalise maps full-width digits, letters, hyphens and tildes to ASCII,
// turns lower-case letters to upper case and removes white space. It
// returns text itself when nothing changes.
func Normalise(text string) string {
	clean := true
	for _, r := range text {
		if normalRune(r) != r {
			clean = false
			break
		}
	}
	if clean {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		if mapped := normalRune(r); mapped >= 0 {
			b.WriteRune(mapped)
		}
	}
	return b.String()
}

// normalRune returns the normal form of r, or -1 when r is dropped.
func normalRune(r rune) rune {
	switch {
	case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000':
		return -1
	case r >= '０' && r <= '９':
		return r - '０' + '0'
	case r >= 'Ａ' && r <= 'Ｚ':
		return r - 'Ａ' + 'A'
	case r >= 'ａ' && r <= 'ｚ':
		return r - 'ａ' + 'A'
	case r >= 'a' && r <= 'z':
		return r - 'a' + 'A'
	case r == '－' || r == '—' || r == '–' || r == '―':
		return '-'
	case r == '～' || r == '〜':
		return '~'
	}
	return r
}

// districtNames are Shanghai's 16 districts, dropped from the start of an
// address.
var districtNames = []string{
	"黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区",
	"宝山区", "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区",
}

// splitRoad drops the city, district and street or town from the start of a
// normalised address, and splits the rest where the first number starts.
func splitRoad(text string) (road, rest string) {
	text = strings.TrimPrefix(text, "上海市")
	text = strings.TrimPrefix(text, "上海")
	for _, district := range districtNames {
		if strings.HasPrefix(text, district) {
			text = text[len(district):]
			break
		}
	}
	text = dropDivision(text, "街道")
	text = dropDivision(text, "镇")

	s := scanner{text: text}
	for !s.done() && !s.atNumber() {
		s.skipRune()
	}
	return strings.TrimSpace(text[:s.position]), text[s.position:]
}

// dropDivision drops a leading street or town name ending in marker, such as
// "枫林路街道" or "九亭镇", when a road of at least two characters follows.
// "镇宁路" keeps its 镇, because nothing precedes it.
func dropDivision(text, marker string) string {
	i := strings.Index(text, marker)
	if i <= 0 {
		return text
	}
	rest := text[i+len(marker):]
	s := scanner{text: rest}
	runes := 0
	for !s.done() && !s.atNumber() {
		s.skipRune()
		runes++
	}
	if runes < 2 || s.done() {
		return text
	}
	return rest
}

// scanner walks a normalised address.
type scanner struct {
	text     string
	position int
}

func (s *scanner) done() bool { return s.position >= len(s.text) }

func (s *scanner) peek() rune {
	r, _ := utf8.DecodeRuneInString(s.text[s.position:])
	return r
}

func (s *scanner) skipRune() {
	_, size := utf8.DecodeRuneInString(s.text[s.position:])
	s.position += size
}

func (s *scanner) accept(marker string) bool {
	if strings.HasPrefix(s.text[s.position:], marker) {
		s.position += len(marker)
		return true
	}
	return false
}

func (s *scanner) atRangeSeparator() bool {
	r := s.peek()
	return r == '-' || r == '~' || r == '至'
}

// atNumber reports whether a number starts here: an ASCII digit, or a run
// of Chinese numerals followed by a marker, so that road names such as
// 四川北路 or 三门路 are not read as numbers.
func (s *scanner) atNumber() bool {
	if s.done() {
		return false
	}
	r := s.peek()
	if r >= '0' && r <= '9' {
		return true
	}
	if !isChineseNumeral(r) {
		return false
	}
	rest := s.text[s.position:]
	for _, r := range rest {
		if isChineseNumeral(r) {
			continue
		}
		_, size := utf8.DecodeRuneInString(rest)
		after := strings.TrimLeft(rest[size:], "零〇一二三四五六七八九十百千两")
		after = dropSuffix(after)
		return hasMarker(after)
	}
	return false
}

// dropSuffix drops one 甲…癸 suffix or capital letter at the start of text.
func dropSuffix(text string) string {
	r, size := utf8.DecodeRuneInString(text)
	if suffixRank(r) > 0 {
		return text[size:]
	}
	return text
}

func hasMarker(text string) bool {
	for _, marker := range []string{"支弄", "弄", "号", "幢", "栋", "室", "-", "~", "至"} {
		if strings.HasPrefix(text, marker) {
			return true
		}
	}
	return false
}

// number reads digits or Chinese numerals and an optional suffix right
// after them. It returns false when the value passes maxNumber.
func (s *scanner) number() (Number, bool) {
	start := s.position
	value := 0
	if r := s.peek(); r >= '0' && r <= '9' {
		for !s.done() {
			r := s.peek()
			if r < '0' || r > '9' {
				break
			}
			value = value*10 + int(r-'0')
			if value > maxNumber {
				return Number{}, false
			}
			s.position++
		}
	} else {
		for !s.done() && isChineseNumeral(s.peek()) {
			s.skipRune()
		}
		var ok bool
		if value, ok = chineseValue(s.text[start:s.position]); !ok {
			return Number{}, false
		}
	}
	return Number{Value: value, Suffix: s.suffix()}, true
}

// suffix reads one 甲…癸 suffix or capital letter, or returns 0.
func (s *scanner) suffix() rune {
	if s.done() {
		return 0
	}
	r := s.peek()
	if suffixRank(r) == 0 {
		return 0
	}
	s.skipRune()
	return r
}

const heavenlyStems = "甲乙丙丁戊己庚辛壬癸"

// suffixRank orders suffixes after the bare number: 甲 and A rank 1, 乙 and
// B rank 2, and so on. It returns 0 for a rune that is no suffix.
func suffixRank(r rune) int {
	if r >= 'A' && r <= 'Z' {
		return int(r-'A') + 1
	}
	if i := strings.IndexRune(heavenlyStems, r); i >= 0 {
		return i/len("甲") + 1
	}
	return 0
}

func isChineseNumeral(r rune) bool {
	return strings.ContainsRune("零〇一二三四五六七八九十百千两", r)
}

// chineseValue reads a Chinese numeral, either with units ("一百零五",
// "十二") or digit by digit ("一二八").
func chineseValue(text string) (int, bool) {
	digit := func(r rune) int {
		i := strings.IndexRune("零一二三四五六七八九", r)
		if i < 0 {
			return -1
		}
		return i / len("零")
	}
	if !strings.ContainsAny(text, "十百千") {
		value := 0
		for _, r := range text {
			d := digit(r)
			switch r {
			case '〇':
				d = 0
			case '两':
				d = 2
			}
			if d < 0 {
				return 0, false
			}
			value = value*10 + d
			if value > maxNumber {
				return 0, false
			}
		}
		return value, true
	}

	total, current := 0, 0
	for _, r := range text {
		switch r {
		case '十', '百', '千':
			unit := map[rune]int{'十': 10, '百': 100, '千': 1000}[r]
			if current == 0 {
				current = 1 // "十二" is 12
			}
			total += current * unit
			current = 0
		case '零', '〇':
		case '两':
			current = 2
		default:
			d := digit(r)
			if d < 0 {
				return 0, false
			}
			current = d
		}
	}
	return total + current, true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var digits [12]byte
	i := len(digits)
	for n > 0 {
		i--
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	return string(digits[i:])
}
