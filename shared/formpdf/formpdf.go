// Package formpdf renders a filled enrolment form as an A4 PDF in Chinese,
// with a QR code of its registration number.
//
// Go PDF libraries embed TrueType outlines only, so the fonts are TrueType
// files from Debian's packages: fonts-droid-fallback covers simplified
// Chinese, and fonts-hanazono adds the rare CJK Extension A and B
// characters some children's names use. Each character is drawn with the
// first font that has a glyph for it.
package formpdf

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"net/http"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/signintech/gopdf"
	"github.com/signintech/gopdf/fontmaker/core"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// DefaultFontPaths are the Debian paths of the fonts, in fallback order.
var DefaultFontPaths = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
	"/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
}

// ErrFontsMissing is returned when a font file cannot be loaded.
var ErrFontsMissing = apierror.New(http.StatusServiceUnavailable, "pdf_fonts_missing",
	"暂时无法生成报名表 PDF：服务器缺少中文字体，请稍后再试或联系所在区招生服务点。")

// Document is a filled form as the PDF shows it.
type Document struct {
	Title string `json:"title"`
	// Number is the registration or application number, printed and
	// encoded in the QR code.
	Number   string    `json:"number"`
	Sections []Section `json:"sections"`
	// Footer is printed at the foot of the page, such as the time of
	// submission.
	Footer string `json:"footer,omitempty"`
}

// Section is a titled group of rows.
type Section struct {
	Title string `json:"title"`
	Rows  []Row  `json:"rows"`
}

// Row is one label and its filled value.
type Row struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// font is a loaded TrueType font with the characters it has glyphs for.
type font struct {
	family string
	data   []byte
	bmp    map[int]uint
	groups []core.CmapFormat12GroupingTable
}

// hasGlyph reports whether the font maps r to a glyph other than .notdef.
func (f *font) hasGlyph(r rune) bool {
	if glyph, ok := f.bmp[int(r)]; ok && glyph != 0 {
		return true
	}
	for _, group := range f.groups {
		if uint(r) >= group.StartCharCode && uint(r) <= group.EndCharCode {
			return group.GlyphID+uint(r)-group.StartCharCode != 0
		}
	}
	return false
}

// Renderer renders documents with fonts loaded once from FontPaths.
type Renderer struct {
	// FontPaths are TrueType files in fallback order; empty means
	// DefaultFontPaths.
	FontPaths []string

	once    sync.Once
	fonts   []*font
	loadErr error
}

func (r *Renderer) load() ([]*font, error) {
	r.once.Do(func() {
		paths := r.FontPaths
		if len(paths) == 0 {
			paths = DefaultFontPaths
		}
		for i, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				r.loadErr = fmt.Errorf("%w: read font %s: %w", ErrFontsMissing, path, err)
				return
			}
			var parser core.TTFParser
			if err := parser.ParseFontData(data); err != nil {
				r.loadErr = fmt.Errorf("%w: parse font %s: %w", ErrFontsMissing, path, err)
				return
			}
			r.fonts = append(r.fonts, &font{
				family: fmt.Sprintf("f%d", i), data: data, bmp: parser.Chars(), groups: parser.GroupingTables(),
			})
		}
	})
	return r.fonts, r.loadErr
}

// Check loads the fonts and returns ErrFontsMissing (wrapped, with the
// path) when one cannot be loaded, so a server can report it at start-up.
func (r *Renderer) Check() error {
	_, err := r.load()
	return err
}

// run is a stretch of text drawn with one font.
type run struct {
	font *font
	text string
}

// splitRuns splits text into runs, each character with the first font that
// has its glyph. A character no font has is drawn with the first font,
// which shows its .notdef box, and is returned in missing.
func splitRuns(fonts []*font, text string) (runs []run, missing []rune) {
	for _, character := range text {
		chosen := fonts[0]
		found := false
		for _, candidate := range fonts {
			if candidate.hasGlyph(character) {
				chosen, found = candidate, true
				break
			}
		}
		if !found && character != ' ' && character != '\n' {
			missing = append(missing, character)
		}
		if len(runs) > 0 && runs[len(runs)-1].font == chosen {
			runs[len(runs)-1].text += string(character)
			continue
		}
		runs = append(runs, run{font: chosen, text: string(character)})
	}
	return runs, missing
}

// Page layout in points (A4 is 595.28 × 841.89).
const (
	marginLeft   = 56.0
	marginTop    = 56.0
	pageWidth    = 595.28
	pageBottom   = 780.0
	labelWidth   = 150.0
	lineHeight   = 20.0
	qrSize       = 96.0
	titleSize    = 18.0
	headingSize  = 13.0
	bodySize     = 11.0
	footerSize   = 9.0
	maxLineRunes = 38
)

// Result is a rendered PDF with the characters no font could draw.
type Result struct {
	PDF []byte
	// Missing lists the characters drawn as .notdef boxes.
	Missing []rune
}

// Render draws document on A4 pages. It returns ErrFontsMissing (wrapped)
// when the fonts cannot be loaded.
func (r *Renderer) Render(document Document) (*Result, error) {
	fonts, err := r.load()
	if err != nil {
		return nil, err
	}
	needed := map[*font]bool{fonts[0]: true}
	var missing []rune
	for _, text := range document.texts() {
		runs, lost := splitRuns(fonts, text)
		missing = append(missing, lost...)
		for _, run := range runs {
			needed[run.font] = true
		}
	}

	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	// Only the fonts the text needs are embedded: the fallback fonts are
	// tens of megabytes to parse, and a subset of each goes into the file.
	for _, f := range fonts {
		if needed[f] {
			if err := pdf.AddTTFFontData(f.family, f.data); err != nil {
				return nil, fmt.Errorf("formpdf: add font %s: %w", f.family, err)
			}
		}
	}
	page := &pageWriter{pdf: pdf, fonts: fonts}
	if err := page.draw(document); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := pdf.Write(&out); err != nil {
		return nil, fmt.Errorf("formpdf: write: %w", err)
	}
	fixed, err := fixToUnicode(out.Bytes())
	if err != nil {
		return nil, err
	}
	return &Result{PDF: fixed, Missing: missing}, nil
}

func (d Document) texts() []string {
	texts := []string{d.Title, d.Number, d.Footer, "登记编号："}
	for _, section := range d.Sections {
		texts = append(texts, section.Title)
		for _, row := range section.Rows {
			texts = append(texts, row.Label, row.Value)
		}
	}
	return texts
}

// QRImage returns the QR code of number as an image, with medium error
// correction so a printed copy still scans when slightly worn.
func QRImage(number string) (image.Image, error) {
	code, err := qrcode.New(number, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("formpdf: QR code of %s: %w", number, err)
	}
	return code.Image(256), nil
}

// pageWriter draws a document line by line, adding pages as needed.
type pageWriter struct {
	pdf   *gopdf.GoPdf
	fonts []*font
	y     float64
}

func (p *pageWriter) newPage() {
	p.pdf.AddPage()
	p.y = marginTop
}

// text draws text at x on the current line with per-character fallback.
func (p *pageWriter) text(x float64, size float64, text string) error {
	runs, _ := splitRuns(p.fonts, text)
	for _, run := range runs {
		if err := p.pdf.SetFont(run.font.family, "", size); err != nil {
			return fmt.Errorf("formpdf: set font: %w", err)
		}
		p.pdf.SetXY(x, p.y)
		if err := p.pdf.Cell(nil, run.text); err != nil {
			return fmt.Errorf("formpdf: draw text: %w", err)
		}
		width, err := p.pdf.MeasureTextWidth(run.text)
		if err != nil {
			return fmt.Errorf("formpdf: measure text: %w", err)
		}
		x += width
	}
	return nil
}

func (p *pageWriter) ensureRoom(height float64) {
	if p.y+height > pageBottom {
		p.newPage()
	}
}

func (p *pageWriter) draw(document Document) error {
	p.newPage()
	if err := p.text(marginLeft, titleSize, document.Title); err != nil {
		return err
	}
	qr, err := QRImage(document.Number)
	if err != nil {
		return err
	}
	if err := p.pdf.ImageFrom(qr, pageWidth-marginLeft-qrSize, marginTop-8, &gopdf.Rect{W: qrSize, H: qrSize}); err != nil {
		return fmt.Errorf("formpdf: draw QR code: %w", err)
	}
	p.y += 32
	if err := p.text(marginLeft, headingSize, "登记编号："+document.Number); err != nil {
		return err
	}
	p.y = marginTop + qrSize + 12

	for _, section := range document.Sections {
		p.ensureRoom(lineHeight * 3)
		p.y += 6
		if err := p.text(marginLeft, headingSize, section.Title); err != nil {
			return err
		}
		p.y += lineHeight
		p.pdf.SetLineWidth(0.5)
		p.pdf.Line(marginLeft, p.y-4, pageWidth-marginLeft, p.y-4)
		for _, row := range section.Rows {
			lines := wrap(row.Value, maxLineRunes)
			p.ensureRoom(lineHeight * float64(len(lines)))
			if err := p.text(marginLeft, bodySize, row.Label); err != nil {
				return err
			}
			for _, line := range lines {
				if err := p.text(marginLeft+labelWidth, bodySize, line); err != nil {
					return err
				}
				p.y += lineHeight
			}
		}
	}
	if document.Footer != "" {
		p.ensureRoom(lineHeight * 2)
		p.y += lineHeight
		return p.text(marginLeft, footerSize, document.Footer)
	}
	return nil
}

// wrap splits text into lines of at most width runes, at newlines and
// wherever a line is full. CJK text has no spaces to break at, so lines
// break between any two characters.
func wrap(text string, width int) []string {
	var lines []string
	for _, paragraph := range strings.Split(text, "\n") {
		for utf8.RuneCountInString(paragraph) > width {
			runes := []rune(paragraph)
			lines = append(lines, string(runes[:width]))
			paragraph = string(runes[width:])
		}
		lines = append(lines, paragraph)
	}
	return lines
}

// IsFontsMissing reports whether err comes from fonts that cannot be
// loaded.
func IsFontsMissing(err error) bool { return errors.Is(err, ErrFontsMissing) }
