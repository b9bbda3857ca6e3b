// Package feedback takes parents' 办不成事 (could-not-get-it-done) reports
// at the edge. A report is checked and put on a Redis stream, and the back
// office stores it and forwards it to the city's service-rating system.
// So no upstream call sits on the parent's request.
package feedback

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/rueidis"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	shared "github.com/sh-preschool/preschool/shared/feedback"
	"github.com/sh-preschool/preschool/shared/person"
)

// maxRequestBytes bounds the request body: 500 characters of text and the
// short fields fit in well under 4 KiB of UTF-8.
const maxRequestBytes = 4 << 10

// Handlers serve the feedback routes.
type Handlers struct {
	Redis   rueidis.Client
	Keyring *crypto.Keyring
	// Prefix starts the stream's key.
	Prefix string
	// StreamMaxLength caps the stream (approximately, MAXLEN ~), so a flood
	// of reports cannot fill Redis; the back office drains it well before.
	StreamMaxLength int64
	// IdleTimeout is how long the form page waits without input before it
	// offers the feedback form.
	IdleTimeout time.Duration
	Timeout     time.Duration
	// DistrictKnown reports whether a district code is one of the catalogue's.
	DistrictKnown func(code string) bool
	Now           func() time.Time
}

// request is the body of POST /api/v1/feedback.
type request struct {
	Category     string `json:"category"`
	Body         string `json:"body"`
	Page         string `json:"page"`
	Step         string `json:"step"`
	Trigger      string `json:"trigger"`
	DistrictCode string `json:"districtCode"`
	Phone        string `json:"phone"`
}

// settings is the response of GET /api/v1/feedback/settings.
type settings struct {
	Categories         []shared.Category `json:"categories"`
	IdleTimeoutSeconds int               `json:"idleTimeoutSeconds"`
}

// GetSettings handles GET /api/v1/feedback/settings: the categories and
// the idle timeout the page uses.
func (h *Handlers) GetSettings(ctx *fasthttp.RequestCtx) error {
	api.WriteJSON(ctx, http.StatusOK, settings{
		Categories: shared.Categories, IdleTimeoutSeconds: int(h.IdleTimeout / time.Second),
	})
	return nil
}

// PostFeedback handles POST /api/v1/feedback. Signing in is not required:
// a parent who cannot sign in may also report it.
func (h *Handlers) PostFeedback(ctx *fasthttp.RequestCtx) error {
	var body request
	if err := api.DecodeJSON(ctx, maxRequestBytes, &body); err != nil {
		return err
	}
	entry, err := h.check(body)
	if err != nil {
		return err
	}

	command := h.Redis.B().Xadd().Key(shared.Stream(h.Prefix)).Maxlen().Almost().Threshold(strconv.FormatInt(h.StreamMaxLength, 10)).Id("*").
		FieldValue()
	fields := entry.Fields()
	for i := 0; i < len(fields); i += 2 {
		command = command.FieldValue(fields[i], fields[i+1])
	}
	callCtx, cancel := api.WithTimeout(ctx, h.Timeout)
	defer cancel()
	id, err := h.Redis.Do(callCtx, command.Build()).ToString()
	if err != nil {
		// api.WriteError logs it, within its bound on lines.
		return fmt.Errorf("%w: queue feedback of category %s: %w",
			apierror.New(http.StatusServiceUnavailable, "feedback_unavailable", "反映暂时无法提交，请稍后重试。"), entry.Category, err)
	}
	api.WriteJSON(ctx, http.StatusAccepted, map[string]string{"id": id, "message": "感谢您的反映，我们会尽快跟进处理。"})
	return nil
}

// check trims and validates a report and seals its phone.
func (h *Handlers) check(body request) (shared.Entry, error) {
	entry := shared.Entry{
		Category: body.Category, Body: strings.TrimSpace(body.Body), Page: strings.TrimSpace(body.Page),
		Step: strings.TrimSpace(body.Step), Trigger: body.Trigger, DistrictCode: body.DistrictCode,
		KeyID: h.Keyring.ActiveKeyID(), SubmittedAt: h.Now().UTC(),
	}
	if _, ok := shared.CategoryName(entry.Category); !ok {
		return entry, apierror.Invalid("category", "invalid_category", "请选择遇到的问题类型。")
	}
	if entry.Category == "other" && entry.Body == "" {
		return entry, apierror.Invalid("body", "body_required", "选择“其他问题”时，请简要描述遇到的问题。")
	}
	if utf8.RuneCountInString(entry.Body) > shared.MaxBodyRunes || !utf8.ValidString(entry.Body) {
		return entry, apierror.Invalid("body", "body_too_long", "问题描述最多 500 个字。")
	}
	if entry.Page == "" || utf8.RuneCountInString(entry.Page) > shared.MaxPageRunes {
		return entry, apierror.Invalid("page", "invalid_page", "页面信息无效，请刷新页面后重试。")
	}
	if utf8.RuneCountInString(entry.Step) > shared.MaxStepRunes {
		return entry, apierror.Invalid("step", "invalid_step", "步骤信息无效，请刷新页面后重试。")
	}
	// PostgreSQL rejects NUL in text, so a report with one could never be
	// stored. The body may keep the line breaks of the text box.
	if !shared.ValidText(entry.Body, true) {
		return entry, apierror.Invalid("body", "invalid_body_character", "问题描述中含有无法识别的控制字符，请删除后重新提交。")
	}
	if !shared.ValidText(entry.Page, false) {
		return entry, apierror.Invalid("page", "invalid_page", "页面信息无效，请刷新页面后重试。")
	}
	if !shared.ValidText(entry.Step, false) {
		return entry, apierror.Invalid("step", "invalid_step", "步骤信息无效，请刷新页面后重试。")
	}
	switch entry.Trigger {
	case shared.TriggerIdle, shared.TriggerLeave, shared.TriggerManual:
	default:
		return entry, apierror.Invalid("trigger", "invalid_trigger", "反映来源无效，请刷新页面后重试。")
	}
	if entry.DistrictCode != "" && !h.DistrictKnown(entry.DistrictCode) {
		return entry, apierror.Invalid("districtCode", "unknown_district", "所选的区不存在，请刷新页面后重试。")
	}
	if body.Phone != "" {
		phone, err := person.NormalisePhone(body.Phone)
		if err != nil {
			return entry, apierror.Invalid("phone", person.CodeInvalidPhone, "手机号码格式不正确，请输入 11 位手机号码，或留空。")
		}
		entry.SealedPhone = h.Keyring.Seal([]byte(phone), shared.ContextPhone)
		entry.PhoneMasked = phone[:3] + "****" + phone[len(phone)-4:]
	}
	return entry, nil
}
