package catalogue

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Form is a published form schema with its fields indexed for validation.
type Form struct {
	Kind    string
	Version int
	Body    json.RawMessage
	// Extra lists the fields whose key starts with "extra.", by the rest of
	// the key; the submission carries them in its "extra" object.
	Extra map[string]Field
}

// Field is one field of a form schema.
type Field struct {
	Key       string   `json:"key"`
	Label     string   `json:"label"`
	Type      string   `json:"type"`
	Required  bool     `json:"required"`
	MaxLength int      `json:"maxLength"`
	Min       *float64 `json:"min"`
	Max       *float64 `json:"max"`
	Options   []Option `json:"options"`
}

// Option is one choice of a select field.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

type formBody struct {
	Sections []struct {
		Key    string  `json:"key"`
		Fields []Field `json:"fields"`
	} `json:"sections"`
}

func (c *Catalogue) indexForms() error {
	for _, published := range c.Snapshot.Forms {
		if published.DistrictCode != "" || published.CategoryCode != "" {
			continue // district forms are served by the form designer's entries
		}
		var body formBody
		if err := json.Unmarshal(published.Body, &body); err != nil {
			return fmt.Errorf("catalogue: %s form version %d: %w", published.Kind, published.Version, err)
		}
		form := &Form{Kind: published.Kind, Version: published.Version, Body: published.Body, Extra: map[string]Field{}}
		for _, section := range body.Sections {
			for _, field := range section.Fields {
				if name, ok := strings.CutPrefix(field.Key, "extra."); ok {
					form.Extra[name] = field
				}
			}
		}
		if current, ok := c.forms[form.Kind]; !ok || form.Version > current.Version {
			c.forms[form.Kind] = form
		}
	}
	return nil
}
