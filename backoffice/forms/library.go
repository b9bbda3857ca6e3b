// Package forms keeps the city's field and certificate libraries with their
// district overrides, and the form designer. A district lays out library
// fields and certificates into sections for each entry (household
// category) and previews the result. Publishing stores it as a new version
// of the form schema, which the edge serves to parents at once.
package forms

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Permissions of the forms API.
const (
	PermissionRead  = "form.read"
	PermissionWrite = "form.write"
	// PermissionEnrolmentRead is the enrolment module's permission to see
	// registrations and applications.
	PermissionEnrolmentRead = "enrolment.read"
)

// FieldTypes are the types a library field may have. The edge's pre-check
// validates each of them.
var FieldTypes = []string{"text", "textarea", "number", "date", "select", "boolean", "phone", "id_number", "address"}

// CertificateFileTypes are the file types a certificate may accept.
var CertificateFileTypes = []string{"jpg", "png", "pdf"}

// Limits of library entries.
const (
	MaxLabelLength       = 40
	MaxHelpLength        = 200
	MaxTextLength        = 500
	MaxPatternLength     = 200
	MaxLinkageRules      = 5
	MaxCertificateSizeKB = 20480
	MaxCertificateCount  = 10
)

// Linkage actions: show the field, or require it, when the condition holds.
const (
	LinkageShow    = "show"
	LinkageRequire = "require"
)

// LinkageRule shows or requires the field it belongs to when the field
// named by Field has a value (Equals empty) or equals Equals.
type LinkageRule struct {
	Action string `json:"action"`
	Field  string `json:"field"`
	Equals string `json:"equals"`
}

// Field is a library field: a city row (DistrictCode empty) or a
// district's override of the city row with the same Code.
type Field struct {
	ID             int64         `json:"id"`
	Code           string        `json:"code"`
	DistrictCode   string        `json:"districtCode,omitempty"`
	Label          string        `json:"label"`
	Type           string        `json:"type"`
	DictionaryCode string        `json:"dictionaryCode,omitempty"`
	Help           string        `json:"help"`
	Required       bool          `json:"required"`
	MinLength      *int          `json:"minLength,omitempty"`
	MaxLength      *int          `json:"maxLength,omitempty"`
	Pattern        string        `json:"pattern,omitempty"`
	PatternMessage string        `json:"patternMessage,omitempty"`
	Min            *float64      `json:"min,omitempty"`
	Max            *float64      `json:"max,omitempty"`
	Linkage        []LinkageRule `json:"linkage"`
	Enabled        bool          `json:"enabled"`
	UpdatedAt      time.Time     `json:"updatedAt"`
}

// Certificate is a library certificate type, a city row or a district's
// override.
type Certificate struct {
	ID            int64     `json:"id"`
	Code          string    `json:"code"`
	DistrictCode  string    `json:"districtCode,omitempty"`
	Name          string    `json:"name"`
	Help          string    `json:"help"`
	AcceptedTypes []string  `json:"acceptedTypes"`
	MaxSizeKB     int       `json:"maxSizeKB"`
	MaxCount      int       `json:"maxCount"`
	Enabled       bool      `json:"enabled"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Errors of the libraries.
var (
	ErrFieldNotFound       = apierror.New(http.StatusNotFound, "field_not_found", "未找到该字段，可能已被删除，请刷新页面后重试。")
	ErrCertificateNotFound = apierror.New(http.StatusNotFound, "certificate_not_found", "未找到该证照，可能已被删除，请刷新页面后重试。")
	ErrDuplicateCode       = apierror.New(http.StatusConflict, "duplicate_code", "该编码已存在，请换一个编码，或修改已有的条目。")
	ErrCityRowRequired     = apierror.Invalid("code", "no_city_row", "区级只能调整市级库中已有的条目，请先由市级管理员新增。")
)

var (
	fieldCodePattern       = regexp.MustCompile(`^[a-z][a-zA-Z0-9]{1,39}$`)
	certificateCodePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)
	districtPattern        = regexp.MustCompile(`^31[0-9]{4}$`)
)

// markup are the characters a label must not contain, so that no page
// renders it as HTML.
const markup = "<>&\"'`"

func checkText(field, what, value string, maxLength int, required bool) error {
	if value == "" {
		if required {
			return apierror.Invalid(field, "missing_field", "请填写"+what+"。")
		}
		return nil
	}
	if !utf8.ValidString(value) || utf8.RuneCountInString(value) > maxLength {
		return apierror.Invalid(field, "too_long", fmt.Sprintf("%s不能超过 %d 个字。", what, maxLength))
	}
	if strings.ContainsAny(value, markup) || strings.ContainsFunc(value, unicode.IsControl) {
		return apierror.Invalid(field, "markup", what+"不能包含 < > & \" ' ` 等标记字符或控制字符。")
	}
	return nil
}

// Validate checks a field as a request gives it, before the dictionary is
// looked up. It trims the text values in place.
func (f *Field) Validate() error {
	f.Code, f.Label, f.Help = strings.TrimSpace(f.Code), strings.TrimSpace(f.Label), strings.TrimSpace(f.Help)
	f.PatternMessage = strings.TrimSpace(f.PatternMessage)
	if !fieldCodePattern.MatchString(f.Code) {
		return apierror.Invalid("code", "invalid_code", "字段编码应以小写字母开头，只含字母和数字，2 至 40 个字符，例如 fatherEmployer。")
	}
	if err := checkText("label", "字段名称", f.Label, MaxLabelLength, true); err != nil {
		return err
	}
	if err := checkText("help", "填写说明", f.Help, MaxHelpLength, false); err != nil {
		return err
	}

	if !slices.Contains(FieldTypes, f.Type) {
		return apierror.Invalid("type", "invalid_type", "字段类型无效，请从列表中选择。")
	}
	if f.Type == "select" && f.DictionaryCode == "" {
		return apierror.Invalid("dictionaryCode", "missing_field", "下拉选择字段请选择选项来源的数据字典。")
	}
	if f.Type != "select" {
		f.DictionaryCode = ""
	}

	for _, length := range []struct {
		name  string
		value *int
	}{{"minLength", f.MinLength}, {"maxLength", f.MaxLength}} {
		if length.value != nil && (*length.value < 0 || *length.value > MaxTextLength) {
			return apierror.Invalid(length.name, "out_of_range", fmt.Sprintf("长度限制应为 0 至 %d 的整数。", MaxTextLength))
		}
	}
	if f.MaxLength != nil && *f.MaxLength == 0 {
		return apierror.Invalid("maxLength", "out_of_range", "最大长度至少为 1。")
	}
	if f.MinLength != nil && f.MaxLength != nil && *f.MinLength > *f.MaxLength {
		return apierror.Invalid("minLength", "out_of_range", "最小长度不能大于最大长度。")
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return apierror.Invalid("min", "out_of_range", "最小值不能大于最大值。")
	}

	if f.Pattern != "" {
		if len(f.Pattern) > MaxPatternLength {
			return apierror.Invalid("pattern", "too_long", fmt.Sprintf("校验规则（正则表达式）不能超过 %d 个字符。", MaxPatternLength))
		}
		if _, err := regexp.Compile(f.Pattern); err != nil {
			return apierror.Invalid("pattern", "invalid_pattern", "校验规则不是有效的正则表达式："+patternProblem(err))
		}
	}
	if err := checkText("patternMessage", "校验提示", f.PatternMessage, MaxHelpLength, false); err != nil {
		return err
	}
	return checkLinkage(f.Code, f.Linkage, "linkage")
}

// checkLinkage checks the linkage rules of the field with code. The field a
// rule names must be another field. Whether that field is on the form is
// checked when the form is laid out.
func checkLinkage(code string, rules []LinkageRule, path string) error {
	if len(rules) > MaxLinkageRules {
		return apierror.Invalid(path, "too_many_items", fmt.Sprintf("联动规则最多 %d 条。", MaxLinkageRules))
	}
	for i, rule := range rules {
		field := fmt.Sprintf("%s[%d]", path, i)
		if rule.Action != LinkageShow && rule.Action != LinkageRequire {
			return apierror.Invalid(field+".action", "invalid_choice", "联动方式应为“显示”或“必填”。")
		}
		if !fieldCodePattern.MatchString(rule.Field) {
			return apierror.Invalid(field+".field", "invalid_code", "请选择联动条件所依据的字段。")
		}
		if rule.Field == code {
			return apierror.Invalid(field+".field", "self_linkage", "字段不能依据自身联动，请选择另一个字段。")
		}
		if err := checkText(field+".equals", "联动条件的取值", rule.Equals, MaxLabelLength, false); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a certificate as a request gives it and trims its text.
func (c *Certificate) Validate() error {
	c.Code, c.Name, c.Help = strings.TrimSpace(c.Code), strings.TrimSpace(c.Name), strings.TrimSpace(c.Help)
	if !certificateCodePattern.MatchString(c.Code) {
		return apierror.Invalid("code", "invalid_code", "证照编码应以小写字母开头，只含小写字母、数字和下划线，2 至 40 个字符，例如 birth_certificate。")
	}
	if err := checkText("name", "证照名称", c.Name, MaxLabelLength, true); err != nil {
		return err
	}
	if err := checkText("help", "描述文字", c.Help, MaxHelpLength, false); err != nil {
		return err
	}
	if len(c.AcceptedTypes) == 0 {
		return apierror.Invalid("acceptedTypes", "missing_field", "请至少选择一种可上传的文件类型。")
	}
	seen := map[string]bool{}
	for _, fileType := range c.AcceptedTypes {
		if !slices.Contains(CertificateFileTypes, fileType) || seen[fileType] {
			return apierror.Invalid("acceptedTypes", "invalid_choice", "文件类型只能是 jpg、png、pdf，且不能重复。")
		}
		seen[fileType] = true
	}
	if c.MaxSizeKB < 1 || c.MaxSizeKB > MaxCertificateSizeKB {
		return apierror.Invalid("maxSizeKB", "out_of_range", fmt.Sprintf("单个文件大小上限应为 1 至 %d KB。", MaxCertificateSizeKB))
	}
	if c.MaxCount < 1 || c.MaxCount > MaxCertificateCount {
		return apierror.Invalid("maxCount", "out_of_range", fmt.Sprintf("可上传数量应为 1 至 %d 份。", MaxCertificateCount))
	}
	return nil
}

// checkDistrictCode checks the shape of a district code from a request.
func checkDistrictCode(code, field string) error {
	if !districtPattern.MatchString(code) {
		return apierror.Invalid(field, "unknown_district", "区代码无效，请从列表中选择。")
	}
	return nil
}

// patternProblem returns, in Chinese, what is wrong with a regular
// expression and the fragment that Go's parser reports.
func patternProblem(err error) string {
	var syntaxErr *syntax.Error
	if !errors.As(err, &syntaxErr) {
		return "语法有误。"
	}
	problem, ok := patternProblems[syntaxErr.Code]
	if !ok {
		problem = "语法有误"
	}
	return problem + "（出错处：" + syntaxErr.Expr + "）。"
}

var patternProblems = map[syntax.ErrorCode]string{
	syntax.ErrMissingBracket:        "缺少右方括号 ]",
	syntax.ErrMissingParen:          "缺少右括号 )",
	syntax.ErrUnexpectedParen:       "多了一个右括号 )",
	syntax.ErrMissingRepeatArgument: "重复符号（* + ?）前缺少内容",
	syntax.ErrInvalidRepeatOp:       "重复符号用法不正确",
	syntax.ErrInvalidRepeatSize:     "重复次数 {m,n} 不正确",
	syntax.ErrInvalidEscape:         "转义符 \\ 的用法不正确",
	syntax.ErrTrailingBackslash:     "末尾多了转义符 \\",
	syntax.ErrInvalidCharRange:      "字符范围（如 a-z）不正确",
	syntax.ErrInvalidCharClass:      "字符类不正确",
	syntax.ErrInvalidPerlOp:         "不支持的写法",
	syntax.ErrInvalidNamedCapture:   "命名分组不正确",
	syntax.ErrInvalidUTF8:           "包含无法识别的字符",
	syntax.ErrNestingDepth:          "嵌套层数过多",
	syntax.ErrLarge:                 "表达式过于复杂",
}
