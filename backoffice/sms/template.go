// Package sms sends text messages to families through the big-data
// centre's SMS capability. Districts keep templates per entry. Business
// actions (a return, a deletion) queue a message in the outbox inside their
// own transaction, and the Sender worker sends due messages with retries
// and polls their delivery status.
package sms

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Events that send a message to the family.
const (
	EventApplicationSucceeded = "application_succeeded"  // 报名成功
	EventApplicationReturned  = "application_returned"   // 报名被退回
	EventRecordDeleted        = "record_deleted"         // 登记或报名被删除
	EventAdmissionAdmitted    = "admission_admitted"     // 录取通知
	EventAdmissionNotAdmitted = "admission_not_admitted" // 未录取通知
)

// Placeholders a template may contain, each replaced by a value of the
// record the message is about.
const (
	PlaceholderChildName          = "{姓名}"
	PlaceholderRegistrationNumber = "{登记号}"
	PlaceholderApplicationNumber  = "{报名号}"
	PlaceholderReason             = "{原因}"
	PlaceholderDistrict           = "{区}"
	// PlaceholderCampus is the admitting kindergarten and campus.
	PlaceholderCampus = "{录取园所}"
	// PlaceholderDeletedRecord names what a deletion removed: a
	// registration with its applications, or one application.
	PlaceholderDeletedRecord = "{删除内容}"
)

// MaxBodyRunes is the longest template text, in characters; the rendered
// message may be longer by the placeholder values.
const MaxBodyRunes = 300

// EventInfo describes an event for the template pages.
type EventInfo struct {
	Event        string   `json:"event"`
	Name         string   `json:"name"`
	Placeholders []string `json:"placeholders"`
	DefaultBody  string   `json:"defaultBody"`
}

// Events lists the events in display order. DefaultBody is sent when
// neither the entry, the district nor the city has an enabled template.
var Events = []EventInfo{
	{
		Event: EventApplicationSucceeded, Name: "报名成功",
		Placeholders: []string{PlaceholderChildName, PlaceholderRegistrationNumber, PlaceholderApplicationNumber, PlaceholderDistrict},
		DefaultBody:  "【上海市学前教育】{姓名}的入园报名已提交成功，报名编号 {报名号}。请留意{区}后续通知。",
	},
	{
		Event: EventApplicationReturned, Name: "报名退回",
		Placeholders: []string{PlaceholderChildName, PlaceholderRegistrationNumber, PlaceholderApplicationNumber, PlaceholderReason, PlaceholderDistrict},
		DefaultBody:  "【上海市学前教育】{姓名}的入园报名（编号 {报名号}）已被{区}退回，原因：{原因}。报名期内可修改后重新报名。",
	},
	{
		Event: EventRecordDeleted, Name: "信息删除",
		Placeholders: []string{PlaceholderChildName, PlaceholderDeletedRecord, PlaceholderRegistrationNumber, PlaceholderReason, PlaceholderDistrict},
		DefaultBody:  "【上海市学前教育】{姓名}的{删除内容}已删除，原因：{原因}。如有疑问请联系{区}招生服务点。",
	},
	{
		Event: EventAdmissionAdmitted, Name: "录取通知",
		Placeholders: []string{PlaceholderChildName, PlaceholderApplicationNumber, PlaceholderCampus, PlaceholderDistrict},
		DefaultBody:  "【上海市学前教育】{姓名}（报名编号 {报名号}）已被{录取园所}录取。请按{区}通知的时间办理入园手续。",
	},
	{
		Event: EventAdmissionNotAdmitted, Name: "未录取通知",
		Placeholders: []string{PlaceholderChildName, PlaceholderApplicationNumber, PlaceholderReason, PlaceholderDistrict},
		DefaultBody:  "【上海市学前教育】{姓名}（报名编号 {报名号}）本轮未被录取，原因：{原因}。后续统筹安排请留意{区}通知。",
	},
}

// EventByName returns the description of an event.
func EventByName(event string) (EventInfo, bool) {
	for _, info := range Events {
		if info.Event == event {
			return info, true
		}
	}
	return EventInfo{}, false
}

func errInvalidEvent() *apierror.Error {
	return apierror.Invalid("event", "invalid_sms_event", "短信场景无效，应为报名成功、报名退回、信息删除、录取通知或未录取通知。")
}

// ValidateBody checks a template's text for an event: not empty, at most
// MaxBodyRunes characters, and every {…} one of the event's placeholders.
func ValidateBody(event, body string) error {
	info, ok := EventByName(event)
	if !ok {
		return errInvalidEvent()
	}
	length := utf8.RuneCountInString(body)
	if strings.TrimSpace(body) == "" {
		return apierror.Invalid("body", "sms_body_required", "请填写短信内容。")
	}
	if length > MaxBodyRunes || !utf8.ValidString(body) {
		return apierror.Invalid("body", "sms_body_too_long", "短信内容不能超过 300 个字。")
	}
	rest := body
	for {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			return nil
		}
		if rest[open] == '}' {
			return apierror.Invalid("body", "sms_placeholder_unbalanced", "短信内容中的“}”没有对应的“{”。占位符应写成 {姓名} 这样的形式。")
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] == '{' {
			return apierror.Invalid("body", "sms_placeholder_unbalanced", "短信内容中的“{”没有对应的“}”。占位符应写成 {姓名} 这样的形式。")
		}
		placeholder := rest[open : open+end+2]
		if !slices.Contains(info.Placeholders, placeholder) {
			return &apierror.Error{
				Status: http.StatusBadRequest, Code: "sms_placeholder_unknown", Field: "body",
				Message: "“" + info.Name + "”短信不支持占位符 " + placeholder + "，可用的占位符为：" + strings.Join(info.Placeholders, "、") + "。",
			}
		}
		rest = rest[open+end+2:]
	}
}

// Render replaces the placeholders of body with values, keyed by the
// placeholder with its braces. A placeholder without a value becomes empty.
func Render(body string, values map[string]string) string {
	var pairs []string
	for _, placeholder := range []string{PlaceholderChildName, PlaceholderRegistrationNumber,
		PlaceholderApplicationNumber, PlaceholderReason, PlaceholderDistrict, PlaceholderCampus, PlaceholderDeletedRecord} {
		pairs = append(pairs, placeholder, values[placeholder])
	}
	return strings.NewReplacer(pairs...).Replace(body)
}

// MaskPhone keeps the first three and the last four digits of a phone
// number, as lists show it.
func MaskPhone(phone string) string {
	if len(phone) <= 7 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + strings.Repeat("*", len(phone)-7) + phone[len(phone)-4:]
}
