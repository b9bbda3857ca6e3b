// Package config reads settings from environment variables, collecting
// every invalid value into one error that names the variable and the
// expected form.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Reader reads typed settings and remembers the problems it met.
type Reader struct {
	lookup   func(string) (string, bool)
	problems []string
}

// FromEnv returns a Reader over the process environment.
func FromEnv() *Reader { return &Reader{lookup: os.LookupEnv} }

// FromMap returns a Reader over a map, for tests.
func FromMap(values map[string]string) *Reader {
	return &Reader{lookup: func(key string) (string, bool) {
		value, ok := values[key]
		return value, ok
	}}
}

func (r *Reader) raw(key string) (string, bool) {
	value, ok := r.lookup(key)
	value = strings.TrimSpace(value)
	return value, ok && value != ""
}

// String returns the variable or fallback.
func (r *Reader) String(key, fallback string) string {
	if value, ok := r.raw(key); ok {
		return value
	}
	return fallback
}

// Int returns the variable as an integer within [minimum, maximum], or fallback.
func (r *Reader) Int(key string, fallback, minimum, maximum int) int {
	value, ok := r.raw(key)
	if !ok {
		return fallback
	}
	parsed, err := strconv.Atoi(value)
	if err != nil || parsed < minimum || parsed > maximum {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q: want an integer from %d to %d", key, value, minimum, maximum))
		return fallback
	}
	return parsed
}

// Duration returns the variable as a Go duration ("800ms", "2h") of at
// least minimum, or fallback.
func (r *Reader) Duration(key string, fallback, minimum time.Duration) time.Duration {
	value, ok := r.raw(key)
	if !ok {
		return fallback
	}
	parsed, err := time.ParseDuration(value)
	if err != nil || parsed < minimum {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q: want a duration such as 800ms or 2h, at least %s", key, value, minimum))
		return fallback
	}
	return parsed
}

// Bool returns the variable as a boolean ("true", "false", "1", "0"), or fallback.
func (r *Reader) Bool(key string, fallback bool) bool {
	value, ok := r.raw(key)
	if !ok {
		return fallback
	}
	parsed, err := strconv.ParseBool(value)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q: want true or false", key, value))
		return fallback
	}
	return parsed
}

// Require records a problem when value is empty.
func (r *Reader) Require(key, value string) {
	if value == "" {
		r.problems = append(r.problems, key+" is required")
	}
}

// Err returns every problem met so far, or nil.
func (r *Reader) Err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("invalid configuration:\n  " + strings.Join(r.problems, "\n  "))
}

// Attributes returns the fields of a configuration struct as slog
// attributes, for the start-up log line. Fields tagged `secret:"true"` show
// only whether they are set. A nested configuration struct becomes a group
// of attributes, with its own secret fields hidden the same way.
func Attributes(cfg any) []any {
	value := reflect.ValueOf(cfg)
	if value.Kind() == reflect.Pointer {
		value = value.Elem()
	}
	var attributes []any
	for i := range value.NumField() {
		field := value.Type().Field(i)
		if !field.IsExported() {
			continue
		}
		if field.Type.Kind() == reflect.Struct && field.Type != reflect.TypeFor[time.Time]() {
			attributes = append(attributes, slog.Group(toSnakeCase(field.Name), Attributes(value.Field(i).Interface())...))
			continue
		}
		fieldValue := value.Field(i).Interface()
		if field.Tag.Get("secret") == "true" {
			fieldValue = "(set)"
			if value.Field(i).IsZero() {
				fieldValue = "(empty)"
			}
		}
		if duration, ok := fieldValue.(time.Duration); ok {
			fieldValue = duration.String()
		}
		attributes = append(attributes, slog.Any(toSnakeCase(field.Name), fieldValue))
	}
	return attributes
}

func toSnakeCase(name string) string {
	var builder strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 && !unicode.IsUpper(rune(name[i-1])) {
				builder.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		builder.WriteRune(r)
	}
	return builder.String()
}
