// Package feedback defines the 办不成事 (could-not-get-it-done) feedback
// that parents send from the edge: its categories, its limits, and the
// stream entry the edge writes and the back office reads.
package feedback

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Category is one kind of problem a parent can report, with the name the
// page and the back office show.
type Category struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Categories are the kinds of problem a parent can report, in the order
// the page offers them.
var Categories = []Category{
	{Code: "cannot_find", Name: "找不到办理入口或所需信息"},
	{Code: "form_unclear", Name: "表单内容看不懂、不会填"},
	{Code: "certificate", Name: "证照调取或材料上传失败"},
	{Code: "not_eligible", Name: "系统提示不符合条件，但我认为符合"},
	{Code: "system_error", Name: "页面报错、卡顿或无法提交"},
	{Code: "other", Name: "其他问题"},
}

// CategoryName returns the Chinese name of a category code and whether it
// is known.
func CategoryName(code string) (string, bool) {
	for _, category := range Categories {
		if category.Code == code {
			return category.Name, true
		}
	}
	return "", false
}

// Triggers: what made the page offer the feedback form.
const (
	TriggerIdle   = "idle"   // the parent stayed on the page longer than the idle timeout
	TriggerLeave  = "leave"  // the parent left the form before submitting
	TriggerManual = "manual" // the parent opened the form from the page's link
)

// Limits of a report, in characters.
const (
	MaxBodyRunes = 500
	MaxPageRunes = 100
	MaxStepRunes = 50
)

// Stream is the Redis stream of reports under a key prefix, and
// ConsumerGroup the back office's group on it.
func Stream(prefix string) string { return prefix + "stream:feedback" }

// ConsumerGroup is the back office's consumer group on the stream.
const ConsumerGroup = "backoffice"

// ContextPhone binds the sealed phone to its use, in the stream entry and
// in the service_feedback table alike.
const ContextPhone = "service_feedback.phone"

// Entry is one report as the stream carries it. SealedPhone is the
// parent's phone sealed under ContextPhone, or empty.
type Entry struct {
	Category     string
	Body         string
	Page         string
	Step         string
	Trigger      string
	DistrictCode string
	SealedPhone  []byte
	PhoneMasked  string
	KeyID        string
	SubmittedAt  time.Time
}

// Stream entry field names.
const (
	fieldCategory    = "category"
	fieldBody        = "body"
	fieldPage        = "page"
	fieldStep        = "step"
	fieldTrigger     = "trigger"
	fieldDistrict    = "district"
	fieldPhone       = "phone"
	fieldPhoneMasked = "phone_masked"
	fieldKeyID       = "key_id"
	fieldSubmittedAt = "submitted_at"
)

// Fields returns the entry as XADD field/value pairs.
func (e Entry) Fields() []string {
	return []string{
		fieldCategory, e.Category, fieldBody, e.Body, fieldPage, e.Page, fieldStep, e.Step,
		fieldTrigger, e.Trigger, fieldDistrict, e.DistrictCode, fieldPhone, string(e.SealedPhone),
		fieldPhoneMasked, e.PhoneMasked, fieldKeyID, e.KeyID,
		fieldSubmittedAt, strconv.FormatInt(e.SubmittedAt.UnixMilli(), 10),
	}
}

// The range of submitted_at that ParseEntry accepts. The edge stamps the
// current time, and a value far outside these years would be stored as a
// wrong date or not at all.
var (
	minSubmittedAt = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxSubmittedAt = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)
)

// ErrMalformedEntry is returned by ParseEntry for an entry that retrying
// cannot fix.
var ErrMalformedEntry = errors.New("malformed feedback entry")

// ParseEntry reads a stream entry's fields and checks them against the
// limits the edge enforces. It returns ErrMalformedEntry (wrapped) when a
// field is missing or invalid.
func ParseEntry(fields map[string]string) (Entry, error) {
	for _, name := range []string{fieldCategory, fieldBody, fieldPage, fieldStep, fieldTrigger, fieldKeyID, fieldSubmittedAt} {
		if _, ok := fields[name]; !ok {
			return Entry{}, fmt.Errorf("%w: field %s missing", ErrMalformedEntry, name)
		}
	}
	millis, err := strconv.ParseInt(fields[fieldSubmittedAt], 10, 64)
	if err != nil || millis < minSubmittedAt.UnixMilli() || millis > maxSubmittedAt.UnixMilli() {
		return Entry{}, fmt.Errorf("%w: submitted_at %q", ErrMalformedEntry, fields[fieldSubmittedAt])
	}
	entry := Entry{
		Category: fields[fieldCategory], Body: fields[fieldBody], Page: fields[fieldPage], Step: fields[fieldStep],
		Trigger: fields[fieldTrigger], DistrictCode: fields[fieldDistrict], SealedPhone: []byte(fields[fieldPhone]),
		PhoneMasked: fields[fieldPhoneMasked], KeyID: fields[fieldKeyID], SubmittedAt: time.UnixMilli(millis).UTC(),
	}
	if _, ok := CategoryName(entry.Category); !ok {
		return Entry{}, fmt.Errorf("%w: unknown category %q", ErrMalformedEntry, entry.Category)
	}
	switch entry.Trigger {
	case TriggerIdle, TriggerLeave, TriggerManual:
	default:
		return Entry{}, fmt.Errorf("%w: unknown trigger %q", ErrMalformedEntry, entry.Trigger)
	}
	if entry.DistrictCode != "" && !validDistrictCode(entry.DistrictCode) {
		return Entry{}, fmt.Errorf("%w: district %q", ErrMalformedEntry, entry.DistrictCode)
	}
	if utf8.RuneCountInString(entry.Body) > MaxBodyRunes || utf8.RuneCountInString(entry.Page) > MaxPageRunes ||
		utf8.RuneCountInString(entry.Step) > MaxStepRunes {
		return Entry{}, fmt.Errorf("%w: text longer than the limits", ErrMalformedEntry)
	}
	if !ValidText(entry.Body, true) || !ValidText(entry.Page, false) || !ValidText(entry.Step, false) ||
		!ValidText(entry.PhoneMasked, false) || !ValidText(entry.KeyID, false) {
		return Entry{}, fmt.Errorf("%w: text is not valid UTF-8 or contains a control character", ErrMalformedEntry)
	}
	return entry, nil
}

// ValidText reports whether text is valid UTF-8 without control
// characters (Unicode category Cc, which includes NUL). PostgreSQL rejects
// NUL in a text column, and the other control characters have no place in
// a report. When lineBreaks is true, text may contain "\n" and "\r", which
// a multi-line text box produces.
func ValidText(text string, lineBreaks bool) bool {
	if !utf8.ValidString(text) {
		return false
	}
	for _, r := range text {
		if lineBreaks && (r == '\n' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validDistrictCode reports whether code has the shape of a Shanghai
// district code: six digits starting with 31.
func validDistrictCode(code string) bool {
	if len(code) != 6 || code[:2] != "31" {
		return false
	}
	for i := 2; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}
