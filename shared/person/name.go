package person

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Script is the writing system of a name.
type Script string

const (
	ScriptHan   Script = "han"   // Chinese characters, optionally joined by "·"
	ScriptLatin Script = "latin" // Latin letters, as in the passports of foreign children
)

// Name is a validated, normalised personal name.
type Name struct {
	Text   string
	Script Script
}

// middleDot separates the parts of transliterated names of ethnic-minority
// citizens, as in "阿依古丽·买买提".
const middleDot = '·' // U+00B7

// minNameRunes is the minimum length of a name: a one-character surname and a
// one-character given name.
const minNameRunes = 2

// maxCombiningMarks is the maximum number of combining marks after one Latin
// letter in the composed (NFC) name. Marks remain only where Unicode has no
// precomposed letter, and the limit rejects stacked "Zalgo" marks.
const maxCombiningMarks = 2

// ParseName validates and normalises a personal name of at most maxRunes
// runes after normalisation. A maxRunes below 2 rejects every name.
//
// A Han name is Chinese characters (Unicode script Han, including the
// 4-byte characters of CJK Extension B and later), optionally split into parts
// by single middle dots. Look-alike dots such as "•" and "・" become "·".
// A Latin name is Latin letters with accents, spaces, hyphens, apostrophes
// and periods, and must contain a letter. Runs of spaces become one space,
// "’" becomes "'", full-width Latin letters become ASCII, and letters with
// combining accents are composed (NFC). Surrounding white space is removed.
//
// NOTE: Han text is not NFC-normalised, so a CJK compatibility ideograph and
// its unified ideograph stay different names.
func ParseName(s string, maxRunes int) (Name, error) {
	if !utf8.ValidString(s) {
		return Name{}, errNameCharacters()
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return Name{}, errMissingName()
	}

	text, facts := normaliseName(s)
	if facts.combiningMark {
		// Composition can leave more marks on a letter than before, for
		// example when an accent below composes with the letter and the
		// marks above it remain, so the composed text is checked again.
		text, facts = normaliseName(norm.NFC.String(text))
	}
	script, err := facts.script()
	if err != nil {
		return Name{}, err
	}

	length := utf8.RuneCountInString(text)
	if length > maxRunes {
		return Name{}, errNameTooLong(maxRunes)
	}
	if length < minNameRunes {
		return Name{}, errNameTooShort()
	}
	return Name{Text: text, Script: script}, nil
}

// nameFacts records what normaliseName found in a name.
type nameFacts struct {
	markup           bool // markup or control characters
	digit            bool
	other            bool // characters allowed in neither script
	han              bool // Han characters
	latin            bool // Latin letters
	space            bool
	latinPunctuation bool // hyphen, apostrophe or period
	middleDot        bool
	misplacedDot     bool // middle dot at the start or end, or doubled
	combiningMark    bool // any rune of the Combining Diacritical Marks block
}

// normaliseName maps look-alike characters in the trimmed name s, collapses
// runs of spaces, and records what it finds. It returns s itself when
// nothing changes, which saves an allocation for most names.
func normaliseName(s string) (string, nameFacts) {
	var facts nameFacts
	var b strings.Builder
	changed := false
	previous := rune(-1)
	marks := 0

	for i, original := range s {
		r := mapNameRune(original)
		dropped := r == ' ' && previous == ' '
		if !changed && (dropped || r != original) {
			changed = true
			b.Grow(len(s))
			b.WriteString(s[:i])
		}
		if dropped {
			continue
		}
		if changed {
			b.WriteRune(r)
		}

		if isCombiningMark(r) {
			// A mark is valid only after a Latin letter or a valid mark.
			facts.combiningMark = true
			if marks < maxCombiningMarks && (isLatinLetter(previous) || (marks > 0 && isCombiningMark(previous))) {
				marks++
			} else {
				facts.other = true
			}
		} else {
			marks = 0
			facts.classify(r, previous)
		}
		previous = r
	}
	if previous == middleDot {
		facts.misplacedDot = true
	}

	if !changed {
		return s, facts
	}
	return b.String(), facts
}

// classify records the kind of one normalised rune that is not a combining
// mark.
func (f *nameFacts) classify(r, previous rune) {
	switch {
	case isNameMarkup(r):
		f.markup = true
	case r == ' ':
		f.space = true
	case r == middleDot:
		f.middleDot = true
		if previous == -1 || previous == middleDot {
			f.misplacedDot = true
		}
	case r == '-' || r == '\'' || r == '.':
		f.latinPunctuation = true
	case isHanLetter(r):
		f.han = true
	case isLatinLetter(r):
		f.latin = true
	case unicode.IsNumber(r):
		f.digit = true
	default:
		f.other = true
	}
}

// script returns the script of a name with these facts, or the error that
// rejects it. Markup is reported first because it may be an attack, and
// mixed scripts before the rules of either script.
func (f *nameFacts) script() (Script, error) {
	switch {
	case f.markup:
		return "", errNameMarkup()
	case f.digit:
		return "", errNameDigits()
	case f.other:
		return "", errNameCharacters()
	case f.han && f.latin:
		return "", errNameMixedScript()
	case f.han:
		if f.space || f.latinPunctuation {
			return "", errHanNameCharacters()
		}
		if f.misplacedDot {
			return "", errNameMiddleDot()
		}
		return ScriptHan, nil
	case f.latin:
		if f.middleDot {
			return "", errLatinNameCharacters()
		}
		return ScriptLatin, nil
	default:
		return "", errNameWithoutLetter()
	}
}

// mapNameRune maps look-alike and full-width characters to the ones that
// names are stored with, and any white space to ' '. Control characters are
// returned unchanged so that they are rejected, even those that are white
// space, such as tab and newline.
func mapNameRune(r rune) rune {
	switch r {
	case '\u2022', // • BULLET
		'\u2027', // ‧ HYPHENATION POINT
		'\u2219', // ∙ BULLET OPERATOR
		'\u22C5', // ⋅ DOT OPERATOR
		'\u30FB', // ・ KATAKANA MIDDLE DOT
		'\uFF65', // ･ HALFWIDTH KATAKANA MIDDLE DOT
		'\u0387', // · GREEK ANO TELEIA, canonically equivalent to U+00B7
		'\u2E31': // ⸱ WORD SEPARATOR MIDDLE DOT
		return middleDot
	case '\u2018', '\u2019', '\u02BC', '\uFF07': // ‘ ’ ʼ ＇
		return '\''
	case '\u2010', '\u2011', '\u2013', '\uFF0D': // ‐ ‑ – －
		return '-'
	case '\uFF0E': // ．
		return '.'
	}
	if isFullWidthAlphanumeric(r) {
		return halfWidth(r)
	}
	if unicode.IsSpace(r) && !unicode.IsControl(r) {
		return ' '
	}
	return r
}

// isNameMarkup reports whether r is a control or format character, or an
// ASCII character that is special in HTML, JavaScript, SQL or templates.
func isNameMarkup(r rune) bool {
	switch r {
	case '<', '>', '&', '"', '`', '\\', '{', '}', ';':
		return true
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}

// isHanLetter reports whether r is a Chinese character. Han-script symbols,
// such as the Kangxi radicals that look like ideographs, are excluded.
// U+3007 〇 (ideographic number zero) is accepted although its category is
// Nl, not a letter, because it is written as a character.
func isHanLetter(r rune) bool {
	return unicode.Is(unicode.Han, r) && (unicode.IsLetter(r) || r == '〇')
}

func isLatinLetter(r rune) bool {
	return r >= 0 && unicode.Is(unicode.Latin, r) && unicode.IsLetter(r)
}

// isCombiningMark reports whether r is in the Combining Diacritical Marks
// block, which covers the accents of decomposed Latin letters.
func isCombiningMark(r rune) bool {
	return r >= 0x0300 && r <= 0x036F
}
