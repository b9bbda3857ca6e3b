package catalogue

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Form is a published form schema with its fields indexed for validation.
// DistrictCode and CategoryCode are empty for the city-wide form.
type Form struct {
	Kind         string
	DistrictCode string
	CategoryCode string
	Version      int
	Body         json.RawMessage
	// Title is the form's title, or empty when the schema gives none.
	Title string
	// ExtraOrder lists the keys of Extra in the order of the form.
	ExtraOrder []string
	// PrintLayout is the JSON of the form's PrintLayout, made once when the
	// snapshot is indexed, so each receipt can keep the labels of the
	// version it was made with at no cost on the submit path.
	PrintLayout []byte
	// PrintLayoutID names PrintLayout by its SM3 hash in hex, so a receipt
	// names the layout and Redis keeps one copy of it (Keys.PrintLayout).
	PrintLayoutID string
	// Extra lists the fields whose key starts with "extra.", by the rest of
	// the key; the submission carries them in its "extra" object.
	Extra map[string]Field
	// Certificates lists the certificates that the form's sections request
	// from the family, in form order.
	Certificates []Certificate
}

// Certificate is a certificate (证照) that a designed form section requests,
// with the file limits of the certificate library.
type Certificate struct {
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	Required      bool     `json:"required"`
	AcceptedTypes []string `json:"acceptedTypes"`
	MaxSizeKB     int      `json:"maxSizeKB"`
	MaxCount      int      `json:"maxCount"`
}

// Certificate returns the form's certificate with code.
func (f *Form) Certificate(code string) (Certificate, bool) {
	for _, certificate := range f.Certificates {
		if certificate.Code == code {
			return certificate, true
		}
	}
	return Certificate{}, false
}

// Field is one field of a form schema.
type Field struct {
	Key            string    `json:"key"`
	Label          string    `json:"label"`
	Type           string    `json:"type"`
	Required       bool      `json:"required"`
	MinLength      int       `json:"minLength"`
	MaxLength      int       `json:"maxLength"`
	Min            *float64  `json:"min"`
	Max            *float64  `json:"max"`
	Options        []Option  `json:"options"`
	Pattern        string    `json:"pattern"`
	PatternMessage string    `json:"patternMessage"`
	Linkage        []Linkage `json:"linkage"`
	// Compiled is Pattern anchored at both ends and compiled once when the
	// snapshot is indexed, or nil without a pattern.
	Compiled *regexp.Regexp `json:"-"`
}

// Linkage actions of a field's linkage rule.
const (
	LinkageShow    = "show"
	LinkageRequire = "require"
)

// Linkage shows or requires the field it belongs to when the field with key
// Field has a value (Equals empty) or equals Equals.
type Linkage struct {
	Action string `json:"action"`
	Field  string `json:"field"`
	Equals string `json:"equals"`
}

// Option is one choice of a select field.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// PrintLayout is the part of a schema version that a printed copy of a
// filled form needs: the title and the extra fields, in form order, with
// their labels and options.
type PrintLayout struct {
	Title string         `json:"title,omitempty"`
	Extra []PrintedField `json:"extra,omitempty"`
}

// PrintedField is an extra field as a printed form shows it.
type PrintedField struct {
	Key     string   `json:"key"`
	Label   string   `json:"label"`
	Type    string   `json:"type"`
	Options []Option `json:"options,omitempty"`
}

type formBody struct {
	Title    string `json:"title"`
	Sections []struct {
		Key          string        `json:"key"`
		Fields       []Field       `json:"fields"`
		Certificates []Certificate `json:"certificates"`
	} `json:"sections"`
}

type formKey struct {
	kind     string
	district string
	category string
}

// indexForms keeps the latest version of each city-wide form and of each
// district entry's form.
func (c *Catalogue) indexForms() error {
	for _, published := range c.Snapshot.Forms {
		form, err := newForm(published)
		if err != nil {
			return err
		}
		if published.DistrictCode != "" {
			key := formKey{published.Kind, published.DistrictCode, published.CategoryCode}
			if current, ok := c.entryForms[key]; !ok || form.Version > current.Version {
				c.entryForms[key] = form
			}
			continue
		}
		if current, ok := c.forms[form.Kind]; !ok || form.Version > current.Version {
			c.forms[form.Kind] = form
		}
	}
	return nil
}

func newForm(published snapshot.Form) (*Form, error) {
	name := published.Kind + " form"
	if published.DistrictCode != "" {
		name += " of " + published.DistrictCode + "/" + published.CategoryCode
	}
	var body formBody
	err := json.Unmarshal(published.Body, &body)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %s version %d: %w", name, published.Version, err)
	}
	form := &Form{
		Kind: published.Kind, DistrictCode: published.DistrictCode, CategoryCode: published.CategoryCode,
		Version: published.Version, Body: published.Body, Title: body.Title, Extra: map[string]Field{},
	}
	for _, section := range body.Sections {
		form.Certificates = append(form.Certificates, section.Certificates...)
		for _, field := range section.Fields {
			name, ok := strings.CutPrefix(field.Key, "extra.")
			if !ok {
				continue
			}
			if field.Pattern != "" {
				// The whole value must match, as the back office's field
				// library documents for its patterns.
				compiled, err := regexp.Compile(`^(?:` + field.Pattern + `)$`)
				if err != nil {
					return nil, fmt.Errorf("catalogue: %s version %d: field %s: %w", name, published.Version, field.Key, err)
				}
				field.Compiled = compiled
			}
			if _, seen := form.Extra[name]; !seen {
				form.ExtraOrder = append(form.ExtraOrder, name)
			}
			form.Extra[name] = field
		}
	}
	layout := PrintLayout{Title: form.Title}
	for _, name := range form.ExtraOrder {
		field := form.Extra[name]
		layout.Extra = append(layout.Extra, PrintedField{Key: name, Label: field.Label, Type: field.Type, Options: field.Options})
	}
	if form.PrintLayout, err = json.Marshal(layout); err != nil {
		return nil, fmt.Errorf("catalogue: %s version %d: %w", name, published.Version, err)
	}
	form.PrintLayoutID = hex.EncodeToString(sm3.Sm3Sum(form.PrintLayout))
	return form, nil
}

// PrintLayoutOf returns the print layout of a published form and its ID,
// as a receipt names it. The back office uses it to write a receipt again
// (backoffice/receipts).
func PrintLayoutOf(published snapshot.Form) (layout []byte, id string, err error) {
	form, err := newForm(published)
	if err != nil {
		return nil, "", err
	}
	return form.PrintLayout, form.PrintLayoutID, nil
}

// EntryForm returns the form of kind a district's entry for a household
// category uses: the district's own latest version, else the city-wide
// form.
func (c *Catalogue) EntryForm(kind, districtCode, categoryCode string) (*Form, bool) {
	if form, ok := c.entryForms[formKey{kind, districtCode, categoryCode}]; ok {
		return form, true
	}
	return c.Form(kind)
}
