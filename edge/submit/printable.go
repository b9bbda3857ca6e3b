package submit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/formpdf"
)

// printLayoutField carries the print layout itself in receipts written
// before layouts had IDs. The edge prints a registration form from the
// receipt's enrolment.FieldRecord, whose personal values stay sealed until
// a PDF is requested, and the layout that enrolment.FieldPrintLayoutID
// names (Keys.PrintLayout). So the PDF keeps the labels of the schema
// version the parent used after a newer one is published, and needs no
// database.
const printLayoutField = "print_layout"

var (
	errNoPrintable = apierror.New(http.StatusNotFound, "printable_not_found",
		"该登记提交于报名表 PDF 功能上线之前，暂不能下载 PDF。如需纸质登记表，请联系所在区招生服务点。")
	errPrintableBroken = apierror.New(http.StatusInternalServerError, "printable_unreadable",
		"报名表 PDF 暂时无法生成，请稍后再试。")
	errNotStored = apierror.New(http.StatusConflict, "registration_not_stored",
		"该登记未能入库，没有登记表可下载。请查看回执上的说明。")
	errPDFBusy = apierror.New(http.StatusServiceUnavailable, "pdf_busy",
		"当前下载登记表的人数较多，请稍后再试。登记结果不受影响。")
)

// PDFLimiter bounds how many PDFs the edge renders at once. A PDF costs
// tens of milliseconds of CPU and tens of megabytes of garbage, because
// gopdf parses the font files for every document (BenchmarkRender in
// shared/formpdf), and the submission path must keep the CPU.
type PDFLimiter chan struct{}

// NewPDFLimiter returns a limiter of n concurrent renders, at least one, so
// a configuration that leaves n at zero still serves PDFs.
func NewPDFLimiter(n int) PDFLimiter { return make(PDFLimiter, max(n, 1)) }

var sexLabels = map[string]string{"M": "男", "F": "女"}

var relationLabels = map[string]string{"father": "父亲", "mother": "母亲", "grandparent": "祖父母/外祖父母", "other": "其他监护人"}

// maskNumber hides all but the first 6 and last 4 characters of a document
// number, as printed copies may pass through many hands.
func maskNumber(number string) string {
	if len(number) <= 10 {
		return strings.Repeat("*", len(number))
	}
	return number[:6] + strings.Repeat("*", len(number)-10) + number[len(number)-4:]
}

func maskPhone(phone string) string {
	if len(phone) != 11 {
		return phone
	}
	return phone[:3] + "****" + phone[7:]
}

// divisionText returns the names of a district, street and committee with
// the address, skipping codes the catalogue does not know.
func divisionText(c *catalogue.Catalogue, district, street, committee, address string) string {
	var parts []string
	if found, ok := c.District(district); ok {
		parts = append(parts, found.Name)
	}
	if found, ok := c.Street(street); ok {
		parts = append(parts, found.Name)
	}
	if found, ok := c.Committee(committee); ok {
		parts = append(parts, found.Name)
	}
	parts = append(parts, address)
	return strings.Join(parts, " ")
}

// extraText returns a form's extra value as the parent chose it: an
// option's label, 是/否 for a box, numbers in their shortest form.
func extraText(field catalogue.PrintedField, value any) string {
	switch v := value.(type) {
	case bool:
		if v {
			return "是"
		}
		return "否"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		for _, option := range field.Options {
			if option.Value == v {
				return option.Label
			}
		}
		if field.Type == "id_number" {
			return maskNumber(v)
		}
		return v
	}
	return fmt.Sprint(value)
}

// extraRows returns the rows of the extra values in the order of the form.
// A value the layout does not name, which happens only when another
// version's layout is used in place of a missing one, follows as
// 其他填报项（key）, so the printed form loses no value.
func extraRows(layout catalogue.PrintLayout, extra map[string]any) []formpdf.Row {
	rows := make([]formpdf.Row, 0, len(extra))
	named := make(map[string]bool, len(layout.Extra))
	for _, field := range layout.Extra {
		named[field.Key] = true
		if value, ok := extra[field.Key]; ok {
			rows = append(rows, formpdf.Row{Label: field.Label, Value: extraText(field, value)})
		}
	}
	var unnamed []string
	for key := range extra {
		if !named[key] {
			unnamed = append(unnamed, key)
		}
	}
	sort.Strings(unnamed)
	for _, key := range unnamed {
		label := "其他填报项（" + key + "）"
		rows = append(rows, formpdf.Row{Label: label, Value: extraText(catalogue.PrintedField{Key: key}, extra[key])})
	}
	return rows
}

// openedRegistration is a registration record with its sealed values
// opened, as the printed form shows them.
type openedRegistration struct {
	enrolment.RegistrationRecord
	childName, childDocumentNumber string
	hukouAddress, residenceAddress string
	guardians                      []precheck.Guardian
	extra                          map[string]any
}

// openRegistration opens the sealed values of a registration record.
func (s *Service) openRegistration(record enrolment.RegistrationRecord) (openedRegistration, error) {
	opened := openedRegistration{RegistrationRecord: record}
	texts := []struct {
		sealed  []byte
		context string
		into    *string
	}{
		{record.SealedChildName, enrolment.ContextChildName, &opened.childName},
		{record.SealedChildDocumentNumber, enrolment.ContextChildDocumentNumber, &opened.childDocumentNumber},
		{record.SealedHukouAddress, enrolment.ContextHukouAddress, &opened.hukouAddress},
		{record.SealedResidenceAddr, enrolment.ContextResidenceAddress, &opened.residenceAddress},
	}
	for _, text := range texts {
		if len(text.sealed) == 0 {
			continue
		}
		plain, err := s.Keyring.Open(text.sealed, text.context)
		if err != nil {
			return openedRegistration{}, err
		}
		*text.into = string(plain)
	}
	guardians, err := s.Keyring.Open(record.SealedGuardians, enrolment.ContextGuardians)
	if err != nil {
		return openedRegistration{}, err
	}
	if err := json.Unmarshal(guardians, &opened.guardians); err != nil {
		return openedRegistration{}, fmt.Errorf("decode the guardians: %w", err)
	}
	if len(record.SealedFormValues) > 0 {
		values, err := s.Keyring.Open(record.SealedFormValues, enrolment.ContextRegistrationForm)
		if err != nil {
			return openedRegistration{}, err
		}
		var form registrationForm
		if err := json.Unmarshal(values, &form); err != nil {
			return openedRegistration{}, fmt.Errorf("decode the form values: %w", err)
		}
		opened.extra = form.Extra
	}
	return opened, nil
}

// printableRegistration builds the printed form of a registration; the
// number is added by the caller.
func printableRegistration(r openedRegistration, c *catalogue.Catalogue, layout catalogue.PrintLayout) formpdf.Document {
	child := []formpdf.Row{
		{Label: "幼儿姓名", Value: r.childName},
		{Label: "性别", Value: sexLabels[r.ChildSex]},
		{Label: "出生日期", Value: r.ChildBirthDate},
		{Label: "证件类型", Value: document.Type(r.ChildDocumentType).Label()},
	}
	if r.childDocumentNumber != "" {
		child = append(child, formpdf.Row{Label: "证件号码", Value: maskNumber(r.childDocumentNumber)})
	}
	hukou := r.HukouProvince
	if r.HukouInShanghai {
		hukou = "上海市 " + divisionText(c, r.HukouDistrict, r.HukouStreet, r.HukouCommittee, r.hukouAddress)
	}
	child = append(child, formpdf.Row{Label: "户籍地址", Value: hukou})

	residence := []formpdf.Row{{Label: "现居住地址",
		Value: divisionText(c, r.ResidenceDistrict, r.ResidenceStreet, r.ResidenceCommittee, r.residenceAddress)}}
	if r.HukouAtResidence {
		residence = append(residence, formpdf.Row{Label: "人户一致", Value: "是"})
	}

	var guardians []formpdf.Row
	for _, guardian := range r.guardians {
		guardians = append(guardians,
			formpdf.Row{Label: relationLabels[guardian.Relation] + "姓名", Value: guardian.Name},
			formpdf.Row{Label: relationLabels[guardian.Relation] + "手机号码", Value: maskPhone(guardian.Phone)})
	}

	title := "适龄幼儿入园信息登记表"
	if layout.Title != "" {
		title = layout.Title + "表"
	}
	document := formpdf.Document{
		Title: title,
		Sections: []formpdf.Section{
			{Title: "幼儿信息", Rows: child},
			{Title: "居住信息", Rows: residence},
			{Title: "监护人信息", Rows: guardians},
		},
		Footer: fmt.Sprintf("提交时间：%s　表单版本：%d", r.AcceptedAt.In(enrolment.Shanghai).Format("2006年1月2日 15:04"), r.SchemaVersion),
	}
	if rows := extraRows(layout, r.extra); len(rows) > 0 {
		document.Sections = append(document.Sections, formpdf.Section{Title: "补充信息", Rows: rows})
	}
	return document
}

// PrintableForm returns the printed form of a registration owned by the
// parent signed in as subject, with its number. It returns a 404 error for
// another family's number, and for a registration accepted before receipts
// kept the record.
func (s *Service) PrintableForm(ctx context.Context, subject, number string) (formpdf.Document, error) {
	if err := enrolment.CheckNumber("number", "invalid_registration_number", number, enrolment.KindRegistration); err != nil {
		return formpdf.Document{}, err
	}
	c, err := s.catalogue()
	if err != nil {
		return formpdf.Document{}, err
	}
	fields, err := s.receipt(ctx, s.OwnerIndex(subject), number)
	if err != nil {
		return formpdf.Document{}, lookupError(err)
	}
	// A form that was never stored is no registration form to print.
	if enrolment.NotStored(fields[enrolment.FieldStatus]) {
		return formpdf.Document{}, errNotStored
	}
	body, ok := fields[enrolment.FieldRecord]
	if !ok {
		return formpdf.Document{}, errNoPrintable
	}
	record, err := enrolment.DecodeRegistration(number, []byte(body))
	if err != nil {
		return formpdf.Document{}, fmt.Errorf("%w: decode the record of %s: %w", errPrintableBroken, number, err)
	}
	encoded := fields[printLayoutField]
	if id := fields[enrolment.FieldPrintLayoutID]; id != "" {
		if encoded, err = s.printLayout(ctx, c, number, id); err != nil {
			return formpdf.Document{}, lookupError(err)
		}
	}
	var layout catalogue.PrintLayout
	if encoded != "" {
		if err := json.Unmarshal([]byte(encoded), &layout); err != nil {
			return formpdf.Document{}, fmt.Errorf("%w: decode the print layout of %s: %w", errPrintableBroken, number, err)
		}
	}
	opened, err := s.openRegistration(record)
	if err != nil {
		return formpdf.Document{}, fmt.Errorf("%w: open the record of %s: %w", errPrintableBroken, number, err)
	}
	document := printableRegistration(opened, c, layout)
	document.Number = number
	return document, nil
}

// printLayout reads the print layout that the receipt of number names by
// id. Redis keeps each layout as long as the receipts that name it, so it
// is missing only when someone deleted it. Then the current registration
// form's layout is used. When that is the layout named, it is stored
// again. Otherwise a warning is logged, because the labels may differ from
// the ones the parent saw.
func (s *Service) printLayout(ctx context.Context, c *catalogue.Catalogue, number, id string) (string, error) {
	ctx, cancel := api.WithTimeout(ctx, s.Timeout)
	defer cancel()
	stored, err := s.Redis.Do(ctx, s.Redis.B().Get().Key(s.Keys.PrintLayout(id)).Build()).ToString()
	if err == nil {
		return stored, nil
	}
	if !rueidis.IsRedisNil(err) {
		return "", fmt.Errorf("%w: read the print layout of %s: %w", ErrUnavailable, number, err)
	}
	form, ok := c.Form(enrolment.KindRegistration)
	if !ok {
		return "", fmt.Errorf("%w: the print layout %s of %s is missing and there is no registration form", errPrintableBroken, id, number)
	}
	if form.PrintLayoutID == id {
		if err := s.storePrintLayout(ctx, form); err != nil {
			slog.Warn("print layout not stored again", "number", number, "layout_id", id, "error", err)
		}
	} else {
		slog.Warn("print layout missing: printing with the current form's labels", "number", number,
			"layout_id", id, "form_version", form.Version)
	}
	return string(form.PrintLayout), nil
}

// GetFormPDF handles GET /api/v1/registrations/{number}/form.pdf: the
// signed-in parent's own filled registration form.
func (h *Handlers) GetFormPDF(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	number, _ := ctx.UserValue("number").(string)
	document, err := h.Service.PrintableForm(ctx, subject, number)
	if err != nil {
		return err
	}

	select {
	case h.PDFSlots <- struct{}{}:
		defer func() { <-h.PDFSlots }()
	default:
		api.SetRetryAfter(ctx, 5*time.Second)
		if h.OnPDFBusy != nil {
			h.OnPDFBusy()
		}
		return fmt.Errorf("%w: %w", api.ErrShed, errPDFBusy)
	}
	result, err := h.PDF.Render(document)
	if formpdf.IsFontsMissing(err) {
		return fmt.Errorf("%w: %w", formpdf.ErrFontsMissing, err)
	}
	if err != nil {
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="registration-`+number+`.pdf"`)
	ctx.SetContentType("application/pdf")
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetBody(result.PDF)
	return nil
}
