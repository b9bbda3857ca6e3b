package formpdf

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// requireFonts skips the test when the Debian font packages are missing;
// `make test` installs them.
func requireFonts(t *testing.T) {
	t.Helper()
	for _, path := range DefaultFontPaths {
		if _, err := os.Stat(path); err != nil {
			t.Skipf("font %s is missing (apt-get install fonts-droid-fallback fonts-hanazono): %v", path, err)
		}
	}
}

var renderer = &Renderer{}

// rareNameDocument has a child's name with 𠮷 (U+20BB7, CJK Extension B)
// and a guardian's name with 䶮 (U+4DAE, CJK Extension A).
var rareNameDocument = Document{
	Title:  "适龄幼儿入园信息登记表",
	Number: "202600012345",
	Sections: []Section{
		{Title: "幼儿信息", Rows: []Row{
			{Label: "幼儿姓名", Value: "𠮷小明"},
			{Label: "出生日期", Value: "2023年3月5日"},
		}},
		{Title: "监护人信息", Rows: []Row{
			{Label: "母亲", Value: "王䶮"},
			{Label: "现居住地址", Value: strings.Repeat("徐汇区漕溪北路100弄3号", 6)},
		}},
	},
	Footer: "提交时间：2026年4月23日 12:00",
}

// toUnicodeEntry matches one glyph of a font subset's ToUnicode map:
// <glyph><glyph><character>, the character in UTF-16BE: four hex digits,
// or eight for a surrogate pair. Five or six digits are a wrong encoding
// of a character outside the Basic Multilingual Plane.
var toUnicodeEntry = regexp.MustCompile(`<([0-9A-F]{4})><[0-9A-F]{4}><([0-9A-F]{4,8})>`)

// embeddedGlyphs returns, for each character the PDF's ToUnicode maps
// list, the glyph index it was drawn with. A character in a wrong
// encoding is listed as utf8.RuneError.
func embeddedGlyphs(pdf []byte) map[rune]string {
	glyphs := map[rune]string{}
	for _, match := range toUnicodeEntry.FindAllSubmatch(pdf, -1) {
		var units []uint16
		for digits := match[2]; len(digits) >= 4; digits = digits[4:] {
			unit, _ := strconv.ParseUint(string(digits[:4]), 16, 16)
			units = append(units, uint16(unit))
		}
		character := utf8.RuneError
		if len(match[2])%4 == 0 {
			character = []rune(string(utf16.Decode(units)))[0]
		}
		glyphs[character] = string(match[1])
	}
	return glyphs
}

func TestRenderRareCharacters(t *testing.T) {
	requireFonts(t)
	result, err := renderer.Render(rareNameDocument)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if !bytes.HasPrefix(result.PDF, []byte("%PDF-")) {
		t.Fatalf("output starts with %q, want a PDF header", result.PDF[:min(8, len(result.PDF))])
	}
	if len(result.Missing) != 0 {
		t.Errorf("characters without a glyph in any font: %q", string(result.Missing))
	}

	glyphs := embeddedGlyphs(result.PDF)
	if _, ok := glyphs[utf8.RuneError]; ok {
		t.Error("a ToUnicode map gives a character in neither four nor eight hex digits")
	}
	checkPDFStructure(t, result.PDF)
	for _, character := range []rune{'𠮷', '䶮', '明', '徐'} {
		glyph, ok := glyphs[character]
		if !ok {
			t.Errorf("%c (U+%04X) is not in any embedded font's ToUnicode map", character, character)
			continue
		}
		if glyph == "0000" {
			t.Errorf("%c (U+%04X) is drawn with glyph 0, .notdef", character, character)
		}
	}
}

func TestFallbackFontOrder(t *testing.T) {
	requireFonts(t)
	fonts, err := renderer.load()
	if err != nil {
		t.Fatalf("load fonts: %v", err)
	}
	runs, missing := splitRuns(fonts, "王𠮷䶮")
	if len(missing) != 0 {
		t.Fatalf("missing = %q, want none", string(missing))
	}
	if runs[0].font != fonts[0] || !strings.HasPrefix(runs[0].text, "王") {
		t.Errorf("first run = %q with %s, want 王 with the primary font", runs[0].text, runs[0].font.family)
	}
	for _, run := range runs {
		for _, character := range run.text {
			if !run.font.hasGlyph(character) {
				t.Errorf("%c is drawn with %s, which has no glyph for it", character, run.font.family)
			}
		}
	}
	// DroidSansFallbackFull in Debian 12 has no 𠮷, so it must come from
	// a fallback font.
	if fonts[0].hasGlyph('𠮷') {
		t.Skip("the primary font has 𠮷, so this font set exercises no fallback")
	}
	for _, run := range runs {
		if strings.ContainsRune(run.text, '𠮷') && run.font == fonts[0] {
			t.Errorf("𠮷 is drawn with the primary font")
		}
	}
}

func TestMissingFontsError(t *testing.T) {
	missing := &Renderer{FontPaths: []string{"/nonexistent/font.ttf"}}
	_, err := missing.Render(rareNameDocument)
	if !IsFontsMissing(err) {
		t.Fatalf("Render error = %v, want ErrFontsMissing", err)
	}
	if !strings.Contains(err.Error(), "/nonexistent/font.ttf") {
		t.Errorf("error %q does not name the missing path", err)
	}
}

func TestQRCodeDecodes(t *testing.T) {
	img, err := QRImage(rareNameDocument.Number)
	if err != nil {
		t.Fatalf("QRImage: %v", err)
	}
	bitmap, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("bitmap: %v", err)
	}
	decoded, err := qrcode.NewQRCodeReader().Decode(bitmap, nil)
	if err != nil {
		t.Fatalf("decode the QR code: %v", err)
	}
	if decoded.GetText() != rareNameDocument.Number {
		t.Errorf("QR code = %q, want %q", decoded.GetText(), rareNameDocument.Number)
	}
}

func TestWrapLongValue(t *testing.T) {
	lines := wrap("一二三四五六七\n八", 3)
	want := []string{"一二三", "四五六", "七", "八"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", lines, want)
	}
}

// commonNameDocument is rareNameDocument with only characters the primary
// font has, so the PDF embeds one font.
var commonNameDocument = Document{
	Title: rareNameDocument.Title, Number: rareNameDocument.Number, Footer: rareNameDocument.Footer,
	Sections: []Section{{Title: "幼儿信息", Rows: []Row{{Label: "幼儿姓名", Value: "张小明"}, {Label: "母亲", Value: "王芳"}}}},
}

// BenchmarkRender measures one PDF per iteration and reports its size. The
// rare name pulls in the Hanazono fonts, which gopdf parses in full for each
// document that uses them.
func BenchmarkRender(b *testing.B) {
	for _, path := range DefaultFontPaths {
		if _, err := os.Stat(path); err != nil {
			b.Skipf("font %s is missing: %v", path, err)
		}
	}
	for _, c := range []struct {
		name     string
		document Document
	}{{"common", commonNameDocument}, {"rare", rareNameDocument}} {
		b.Run(c.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				result, err := renderer.Render(c.document)
				if err != nil {
					b.Fatal(err)
				}
				size = len(result.PDF)
			}
			b.ReportMetric(float64(size), "pdf_bytes")
		})
	}
}

// objectOffset matches a cross-reference table's entry of an object in use.
var objectOffset = regexp.MustCompile(`(?m)^(\d{10}) \d{5} n $`)

// streamObject matches a stream's /Length and its data, as gopdf writes
// them.
var streamObject = regexp.MustCompile(`/Length (\d+)\n>>\nstream\n`)

// checkPDFStructure checks what a reader needs to find the objects: that
// startxref points at the cross-reference table, each of the table's
// offsets at an object, and each stream's /Length at its end.
func checkPDFStructure(t *testing.T, pdf []byte) {
	t.Helper()
	start := bytes.LastIndex(pdf, []byte("startxref\n"))
	var table int
	fmt.Sscanf(string(pdf[start+len("startxref\n"):]), "%d", &table)
	if !bytes.HasPrefix(pdf[table:], []byte("xref\n")) {
		t.Fatalf("startxref %d points at %q, want the cross-reference table", table, pdf[table:min(table+10, len(pdf))])
	}
	for number, match := range objectOffset.FindAllSubmatch(pdf[table:], -1) {
		offset, _ := strconv.Atoi(string(match[1]))
		if want := fmt.Sprintf("%d 0 obj", number+1); !bytes.HasPrefix(pdf[offset:], []byte(want)) {
			t.Errorf("object %d's offset %d points at %q", number+1, offset, pdf[offset:min(offset+12, len(pdf))])
		}
	}
	for _, match := range streamObject.FindAllSubmatchIndex(pdf, -1) {
		length, _ := strconv.Atoi(string(pdf[match[2]:match[3]]))
		end := match[1] + length
		if !bytes.HasPrefix(pdf[end:], []byte("\nendstream")) && !bytes.HasPrefix(pdf[end:], []byte("endstream")) {
			t.Errorf("the stream at %d of /Length %d is followed by %q, want endstream", match[1], length, pdf[end:min(end+12, len(pdf))])
		}
	}
}
