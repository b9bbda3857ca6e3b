package precheck

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/person"
)

const maxExtraTextRunes = 500

// checkExtra validates the values of a form's "extra." fields and returns
// them normalised. A schema version newer than the published one is stale
// in the other direction and rejected too. Linkage rules decide which
// fields apply: a field hidden by its "show" rules is dropped with its
// value, and a "require" rule whose condition holds makes the field
// required.
func checkExtra(form *catalogue.Form, values map[string]any, schemaVersion int) (map[string]any, error) {
	if schemaVersion < 0 {
		return nil, apierror.Invalid("schemaVersion", "invalid_schema_version", "表单版本号无效，请刷新页面后重新填写。")
	}
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

	linkage := linkageState{form: form, values: values, shown: map[string]bool{}, visiting: map[string]bool{}}
	normalised := make(map[string]any, len(values))
	fieldNames := make([]string, 0, len(form.Extra))
	for name := range form.Extra {
		fieldNames = append(fieldNames, name)
	}
	sort.Strings(fieldNames)
	for _, name := range fieldNames {
		field := form.Extra[name]
		if !linkage.isShown(name) {
			continue
		}
		value, present := values[name]
		if present && isBlank(value) {
			present = false
		}
		if !present {
			if field.Required || linkage.isRequired(field) {
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

// linkageState evaluates the linkage rules of one submission's extra
// values. A condition on a hidden field does not hold, as if the field
// were empty.
type linkageState struct {
	form     *catalogue.Form
	values   map[string]any
	shown    map[string]bool
	visiting map[string]bool
}

// isShown reports whether the field named name applies: it has no "show"
// rule, or the condition of one of them holds. A cycle of "show" rules
// hides every field on it.
func (l *linkageState) isShown(name string) bool {
	if shown, ok := l.shown[name]; ok {
		return shown
	}
	if l.visiting[name] {
		return false
	}
	l.visiting[name] = true
	defer delete(l.visiting, name)

	field := l.form.Extra[name]
	shown, hasShowRule := false, false
	for _, rule := range field.Linkage {
		if rule.Action != catalogue.LinkageShow {
			continue
		}
		hasShowRule = true
		if l.holds(rule) {
			shown = true
			break
		}
	}
	shown = shown || !hasShowRule
	l.shown[name] = shown
	return shown
}

// isRequired reports whether a "require" rule of field holds.
func (l *linkageState) isRequired(field catalogue.Field) bool {
	for _, rule := range field.Linkage {
		if rule.Action == catalogue.LinkageRequire && l.holds(rule) {
			return true
		}
	}
	return false
}

// holds reports whether the condition of rule holds: the field it names is
// shown and has a value, equal to rule.Equals when that is set. Values of
// booleans compare as "true" or "false", numbers in their shortest form.
func (l *linkageState) holds(rule catalogue.Linkage) bool {
	name, ok := strings.CutPrefix(rule.Field, "extra.")
	if !ok {
		return false
	}
	if _, known := l.form.Extra[name]; !known || !l.isShown(name) {
		return false
	}
	value, present := l.values[name]
	if !present || isBlank(value) {
		return false
	}
	if flag, ok := value.(bool); ok && !flag && rule.Equals == "" {
		return false // an unticked box has no value
	}
	if rule.Equals == "" {
		return true
	}
	return linkageText(value) == rule.Equals
}

func linkageText(value any) string {
	switch v := value.(type) {
	case string:
		return strings.TrimSpace(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
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
		parsed, err := parseDate(text)
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
	case "id_number":
		number := document.NormaliseNumber(text)
		if len(number) != 18 || document.CheckDigit(number[:17]) != number[17] {
			return nil, errFieldType(field.Key, field.Label, "18 位有效的居民身份证号码")
		}
		return number, nil
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
	if field.MinLength > 0 && utf8.RuneCountInString(normalised) < field.MinLength {
		return nil, errTooShort(field.Key, field.Label, field.MinLength)
	}
	if field.Compiled != nil && !field.Compiled.MatchString(normalised) {
		return nil, errPattern(field.Key, field.Label, field.PatternMessage)
	}
	return normalised, nil
}
