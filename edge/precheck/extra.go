package precheck

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/person"
)

const maxExtraTextRunes = 500

// checkExtra validates the values of a form's "extra." fields and returns
// them normalised. A schema version newer than the published one is stale
// in the other direction and rejected too.
func checkExtra(form *catalogue.Form, values map[string]any, schemaVersion int) (map[string]any, error) {
	if schemaVersion > form.Version {
		return nil, errStaleSchema()
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := form.Extra[name]; !ok {
			if schemaVersion != 0 && schemaVersion < form.Version {
				return nil, errStaleSchema()
			}
			return nil, errUnknownField("extra." + name)
		}
	}

	normalised := make(map[string]any, len(values))
	fieldNames := make([]string, 0, len(form.Extra))
	for name := range form.Extra {
		fieldNames = append(fieldNames, name)
	}
	sort.Strings(fieldNames)
	for _, name := range fieldNames {
		field := form.Extra[name]
		value, present := values[name]
		if present && isBlank(value) {
			present = false
		}
		if !present {
			if field.Required {
				return nil, errRequired(field.Key, field.Label)
			}
			continue
		}
		checked, err := checkExtraValue(field, value)
		if err != nil {
			return nil, err
		}
		normalised[name] = checked
	}
	return normalised, nil
}

func isBlank(value any) bool {
	switch v := value.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	}
	return false
}

func checkExtraValue(field catalogue.Field, value any) (any, error) {
	switch field.Type {
	case "boolean":
		flag, ok := value.(bool)
		if !ok {
			return nil, errFieldType(field.Key, field.Label, "是或否")
		}
		return flag, nil
	case "number":
		number, ok := value.(float64)
		if !ok || math.IsNaN(number) || math.IsInf(number, 0) {
			return nil, errFieldType(field.Key, field.Label, "数字")
		}
		if field.Min != nil && number < *field.Min || field.Max != nil && number > *field.Max {
			return nil, errOutOfRange(field.Key, field.Label)
		}
		return number, nil
	}

	text, ok := value.(string)
	if !ok {
		return nil, errFieldType(field.Key, field.Label, "文字")
	}
	switch field.Type {
	case "select":
		for _, option := range field.Options {
			if option.Value == text {
				return text, nil
			}
		}
		return nil, errInvalidChoice(field.Key, field.Label)
	case "date":
		parsed, err := time.Parse(time.DateOnly, strings.TrimSpace(text))
		if err != nil {
			return nil, errInvalidDate(field.Key, field.Label)
		}
		return parsed.Format(time.DateOnly), nil
	case "phone":
		phone, err := person.NormalisePhone(text)
		if err != nil {
			return nil, errFieldType(field.Key, field.Label, "有效的手机号码")
		}
		return phone, nil
	}

	maxRunes := maxExtraTextRunes
	if field.MaxLength > 0 && field.MaxLength < maxRunes {
		maxRunes = field.MaxLength
	}
	normalised, err := person.NormaliseAddress(text, maxRunes)
	if err != nil {
		if apiErr := apierror.As(err); apiErr != nil && apiErr.Code == "address_too_long" {
			return nil, errTooLong(field.Key, field.Label, maxRunes)
		}
		return nil, errFieldType(field.Key, field.Label, "不含 < > 等符号的文字")
	}
	return normalised, nil
}
