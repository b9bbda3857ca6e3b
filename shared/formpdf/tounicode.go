package formpdf

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"unicode/utf16"
)

// gopdf v0.33.0 writes each character of a font subset's ToUnicode map as
// <%04X>, so a character outside the Basic Multilingual Plane, such as the
// rare 𠮷 (U+20BB7) of some children's names, becomes five or six hex
// digits. PDF readers take the map's values as UTF-16BE, so they copy,
// search and read such a name wrongly, although it prints right.
// fixToUnicode writes those values as UTF-16 surrogate pairs, and then
// corrects the lengths of the streams it changed and the cross-reference
// table's offsets.

// wideEntry is one ToUnicode entry whose character has five or six digits.
var wideEntry = regexp.MustCompile(`<([0-9A-F]{4})><([0-9A-F]{4})><([0-9A-F]{5,6})>`)

// edit replaces the bytes [start, end) of the original file.
type edit struct {
	start, end  int
	replacement []byte
}

// fixToUnicode returns pdf with every wide ToUnicode entry written as a
// surrogate pair. It returns pdf itself when there is none.
func fixToUnicode(pdf []byte) ([]byte, error) {
	var edits []edit
	for offset := 0; ; {
		begin := bytes.Index(pdf[offset:], []byte("beginbfrange"))
		if begin < 0 {
			break
		}
		begin += offset
		end := bytes.Index(pdf[begin:], []byte("endbfrange"))
		if end < 0 {
			return nil, fmt.Errorf("formpdf: a ToUnicode map at %d has no endbfrange", begin)
		}
		end += begin
		offset = end
		matches := wideEntry.FindAllSubmatchIndex(pdf[begin:end], -1)
		if len(matches) == 0 {
			continue
		}
		growth := 0
		for _, match := range matches {
			character, err := strconv.ParseUint(string(pdf[begin+match[6]:begin+match[7]]), 16, 32)
			if err != nil || character > 0x10FFFF {
				return nil, fmt.Errorf("formpdf: invalid ToUnicode character %q", pdf[begin+match[6]:begin+match[7]])
			}
			high, low := utf16.EncodeRune(rune(character))
			replacement := fmt.Appendf(nil, "<%s><%s><%04X%04X>", pdf[begin+match[2]:begin+match[3]], pdf[begin+match[4]:begin+match[5]], high, low)
			edits = append(edits, edit{start: begin + match[0], end: begin + match[1], replacement: replacement})
			growth += len(replacement) - (match[1] - match[0])
		}
		lengthEdit, err := streamLengthEdit(pdf, begin, growth)
		if err != nil {
			return nil, err
		}
		edits = append(edits, lengthEdit)
	}
	if len(edits) == 0 {
		return pdf, nil
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })

	var out bytes.Buffer
	out.Grow(len(pdf) + 64)
	previous := 0
	for _, e := range edits {
		out.Write(pdf[previous:e.start])
		out.Write(e.replacement)
		previous = e.end
	}
	out.Write(pdf[previous:])
	// moved returns where the byte at offset of the original file is now.
	moved := func(offset int) int {
		for _, e := range edits {
			if e.start < offset {
				offset += len(e.replacement) - (e.end - e.start)
			}
		}
		return offset
	}
	return fixCrossReferences(out.Bytes(), moved)
}

// streamLengthEdit returns the edit that adds growth to the /Length of the
// stream that contains the byte at position.
func streamLengthEdit(pdf []byte, position, growth int) (edit, error) {
	stream := bytes.LastIndex(pdf[:position], []byte("stream\n"))
	key := bytes.LastIndex(pdf[:max(stream, 0)], []byte("/Length "))
	if stream < 0 || key < 0 {
		return edit{}, fmt.Errorf("formpdf: no /Length before the ToUnicode map at %d", position)
	}
	start := key + len("/Length ")
	end := digitsEnd(pdf, start)
	length, err := strconv.Atoi(string(pdf[start:end]))
	if err != nil {
		return edit{}, fmt.Errorf("formpdf: invalid /Length before the ToUnicode map at %d: %w", position, err)
	}
	return edit{start: start, end: end, replacement: strconv.AppendInt(nil, int64(length+growth), 10)}, nil
}

// fixCrossReferences rewrites the offsets of the last cross-reference table
// of pdf, and the startxref after it, with moved. The table's entries keep
// their width, so nothing after them moves.
func fixCrossReferences(pdf []byte, moved func(int) int) ([]byte, error) {
	table := bytes.LastIndex(pdf, []byte("\nxref\n"))
	trailer := bytes.LastIndex(pdf, []byte("trailer"))
	startxref := bytes.LastIndex(pdf, []byte("startxref\n"))
	if table < 0 || trailer < table || startxref < trailer {
		return nil, fmt.Errorf("formpdf: no cross-reference table to correct")
	}

	lines := bytes.Split(pdf[table+len("\nxref\n"):trailer], []byte("\n"))
	position := table + len("\nxref\n")
	for _, line := range lines {
		// An entry is "OOOOOOOOOO GGGGG n " or "... f ". A subsection
		// header, "first count", is shorter.
		if len(line) >= 18 && line[17] == 'n' {
			offset, err := strconv.Atoi(string(line[:10]))
			if err != nil {
				return nil, fmt.Errorf("formpdf: invalid cross-reference entry %q", line)
			}
			copy(pdf[position:position+10], fmt.Appendf(nil, "%010d", moved(offset)))
		}
		position += len(line) + 1
	}

	numberStart := startxref + len("startxref\n")
	numberEnd := digitsEnd(pdf, numberStart)
	offset, err := strconv.Atoi(string(pdf[numberStart:numberEnd]))
	if err != nil {
		return nil, fmt.Errorf("formpdf: invalid startxref: %w", err)
	}
	fixed := append([]byte{}, pdf[:numberStart]...)
	fixed = strconv.AppendInt(fixed, int64(moved(offset)), 10)
	return append(fixed, pdf[numberEnd:]...), nil
}

// digitsEnd returns the end of the run of decimal digits at start.
func digitsEnd(pdf []byte, start int) int {
	end := start
	for end < len(pdf) && pdf[end] >= '0' && pdf[end] <= '9' {
		end++
	}
	return end
}
