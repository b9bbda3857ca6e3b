package submit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/formpdf"
)

// printableField is the receipt field with the sealed printable form: the
// filled values with the labels of the schema version they were made with,
// so the PDF never depends on a later version or on the database.
const printableField = "printable"

// contextPrintable binds the sealed printable form to its purpose.
const contextPrintable = "receipt.printable"

var (
	errNoPrintable = apierror.New(http.StatusNotFound, "printable_not_found",
		"该登记提交于报名表 PDF 功能上线之前，暂不能下载 PDF。如需纸质登记表，请联系所在区招生服务点。")
	errPrintableBroken = apierror.New(http.StatusInternalServerError, "printable_unreadable",
		"报名表 PDF 暂时无法生成，请稍后再试。")
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
func extraText(field catalogue.Field, value any) string {
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
func extraRows(form *catalogue.Form, extra map[string]any) []formpdf.Row {
	names := make([]string, 0, len(extra))
	for name := range extra {
		names = append(names, name)
	}
	order := map[string]int{}
	var body struct {
		Sections []struct {
			Fields []struct {
				Key string `json:"key"`
			} `json:"fields"`
		} `json:"sections"`
	}
	if json.Unmarshal(form.Body, &body) == nil {
		for _, section := range body.Sections {
			for _, field := range section.Fields {
				order[field.Key] = len(order)
			}
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return order["extra."+names[i]] < order["extra."+names[j]] })
	rows := make([]formpdf.Row, 0, len(names))
	for _, name := range names {
		field := form.Extra[name]
		rows = append(rows, formpdf.Row{Label: field.Label, Value: extraText(field, extra[name])})
	}
	return rows
}

// printableRegistration builds the printed form of a validated
// registration; the number is added when the PDF is requested.
func printableRegistration(r *precheck.Registration, c *catalogue.Catalogue, form *catalogue.Form, acceptedAt time.Time) formpdf.Document {
	child := []formpdf.Row{
		{Label: "幼儿姓名", Value: r.Child.Name.Text},
		{Label: "性别", Value: sexLabels[r.Child.Sex]},
		{Label: "出生日期", Value: r.Child.BirthDate},
		{Label: "证件类型", Value: r.Child.Document.Type.Label()},
	}
	if r.Child.Document.Number != "" {
		child = append(child, formpdf.Row{Label: "证件号码", Value: maskNumber(r.Child.Document.Number)})
	}
	hukou := r.Hukou.Province
	if r.Hukou.InShanghai {
		hukou = "上海市 " + divisionText(c, r.Hukou.District, r.Hukou.Street, r.Hukou.Committee, r.Hukou.Address)
	}
	child = append(child, formpdf.Row{Label: "户籍地址", Value: hukou})

	residence := []formpdf.Row{{Label: "现居住地址",
		Value: divisionText(c, r.Residence.District, r.Residence.Street, r.Residence.Committee, r.Residence.Address)}}
	if r.Residence.AtHukouAddress {
		residence = append(residence, formpdf.Row{Label: "人户一致", Value: "是"})
	}

	var guardians []formpdf.Row
	for _, guardian := range r.Guardians {
		guardians = append(guardians,
			formpdf.Row{Label: relationLabels[guardian.Relation] + "姓名", Value: guardian.Name},
			formpdf.Row{Label: relationLabels[guardian.Relation] + "手机号码", Value: maskPhone(guardian.Phone)})
	}

	title := "适龄幼儿入园信息登记表"
	var body struct {
		Title string `json:"title"`
	}
	if json.Unmarshal(form.Body, &body) == nil && body.Title != "" {
		title = body.Title + "表"
	}
	document := formpdf.Document{
		Title: title,
		Sections: []formpdf.Section{
			{Title: "幼儿信息", Rows: child},
			{Title: "居住信息", Rows: residence},
			{Title: "监护人信息", Rows: guardians},
		},
		Footer: fmt.Sprintf("提交时间：%s　表单版本：%d", acceptedAt.In(enrolment.Shanghai).Format("2006年1月2日 15:04"), form.Version),
	}
	if rows := extraRows(form, r.Extra); len(rows) > 0 {
		document.Sections = append(document.Sections, formpdf.Section{Title: "补充信息", Rows: rows})
	}
	return document
}

// sealPrintable seals the printed form for the receipt.
func (s *Service) sealPrintable(document formpdf.Document) (string, error) {
	plain, err := json.Marshal(document)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(s.Keyring.Seal(plain, contextPrintable)), nil
}

// PrintableForm returns the printed form of a registration owned by the
// parent signed in as subject, with its number. It returns a 404 error for
// another family's number, and for a registration accepted before receipts
// kept the printed form.
func (s *Service) PrintableForm(ctx context.Context, subject, number string) (formpdf.Document, error) {
	if enrolment.NumberKind(number) != enrolment.KindRegistration {
		return formpdf.Document{}, apierror.Invalid("number", "invalid_registration_number", "登记编号应为 12 位数字，请核对。")
	}
	fields, err := s.receipt(ctx, s.OwnerIndex(subject), number)
	if err != nil {
		return formpdf.Document{}, err
	}
	encoded, ok := fields[printableField]
	if !ok {
		return formpdf.Document{}, errNoPrintable
	}
	sealed, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return formpdf.Document{}, fmt.Errorf("%w: decode the printable form of %s: %w", errPrintableBroken, number, err)
	}
	plain, err := s.Keyring.Open(sealed, contextPrintable)
	if err != nil {
		return formpdf.Document{}, fmt.Errorf("%w: open the printable form of %s: %w", errPrintableBroken, number, err)
	}
	var document formpdf.Document
	if err := json.Unmarshal(plain, &document); err != nil {
		return formpdf.Document{}, fmt.Errorf("%w: decode the printable form of %s: %w", errPrintableBroken, number, err)
	}
	document.Number = number
	return document, nil
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
		ctx.Response.Header.Set("Retry-After", "5")
		return errPDFBusy
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
