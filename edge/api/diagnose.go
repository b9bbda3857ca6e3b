package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// problem kinds found by diagnose.
const (
	problemNone = iota
	problemUnknownField
	problemWrongType
	problemNotObject
)

// diagnose finds where a JSON body that failed to decode into target goes
// wrong, with the full path of the field, list indexes included
// ("guardians[1].document.number"). encoding/json reports an unknown field
// by its last key only and a list element without its index. It runs only
// after a decode has failed, so its cost is off the normal path.
func diagnose(body []byte, target reflect.Type) (path string, problem int, want reflect.Kind) {
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return "", problemNone, 0
	}
	for target.Kind() == reflect.Pointer {
		target = target.Elem()
	}
	if _, ok := value.(map[string]any); !ok && target.Kind() == reflect.Struct {
		return "", problemNotObject, reflect.Struct
	}
	return walk(value, target, "")
}

func walk(value any, target reflect.Type, path string) (string, int, reflect.Kind) {
	for target.Kind() == reflect.Pointer {
		if value == nil {
			return "", problemNone, 0
		}
		target = target.Elem()
	}
	if value == nil || target.Kind() == reflect.Interface {
		return "", problemNone, 0
	}
	switch target.Kind() {
	case reflect.Struct:
		object, ok := value.(map[string]any)
		if !ok {
			return path, problemWrongType, reflect.Struct
		}
		keys := make([]string, 0, len(object))
		for key := range object {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			field, ok := fieldByJSONName(target, key)
			if !ok {
				return join(path, key), problemUnknownField, 0
			}
			if found, problem, kind := walk(object[key], field.Type, join(path, key)); problem != problemNone {
				return found, problem, kind
			}
		}
	case reflect.Map:
		object, ok := value.(map[string]any)
		if !ok {
			return path, problemWrongType, reflect.Map
		}
		for key, element := range object {
			if found, problem, kind := walk(element, target.Elem(), join(path, key)); problem != problemNone {
				return found, problem, kind
			}
		}
	case reflect.Slice, reflect.Array:
		list, ok := value.([]any)
		if !ok {
			return path, problemWrongType, reflect.Slice
		}
		for i, element := range list {
			if found, problem, kind := walk(element, target.Elem(), path+"["+strconv.Itoa(i)+"]"); problem != problemNone {
				return found, problem, kind
			}
		}
	case reflect.String:
		if _, ok := value.(string); !ok {
			return path, problemWrongType, reflect.String
		}
	case reflect.Bool:
		if _, ok := value.(bool); !ok {
			return path, problemWrongType, reflect.Bool
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		number, ok := value.(json.Number)
		if !ok {
			return path, problemWrongType, reflect.Int
		}
		if _, err := strconv.ParseInt(number.String(), 10, target.Bits()); err != nil {
			return path, problemWrongType, reflect.Int
		}
	case reflect.Float32, reflect.Float64:
		number, ok := value.(json.Number)
		if !ok {
			return path, problemWrongType, reflect.Float64
		}
		if _, err := strconv.ParseFloat(number.String(), target.Bits()); err != nil {
			return path, problemWrongType, reflect.Float64
		}
	}
	return "", problemNone, 0
}

// fieldByJSONName finds the struct field a JSON key decodes into, matching
// case-insensitively as encoding/json does.
func fieldByJSONName(target reflect.Type, key string) (reflect.StructField, bool) {
	for i := range target.NumField() {
		field := target.Field(i)
		if !field.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = field.Name
		}
		if strings.EqualFold(name, key) {
			return field, true
		}
	}
	return reflect.StructField{}, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
