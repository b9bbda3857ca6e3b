package forms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Form kinds.
const (
	KindRegistration = "registration"
	KindApplication  = "application"
)

// Limits of a design.
const (
	MaxSections        = 10
	MaxItemsPerSection = 40
	MaxSectionTitle    = 20
)

// Item kinds of a design.
const (
	ItemField       = "field"
	ItemCertificate = "certificate"
)

// extraPrefix starts the schema key of every designed field: the edge
// carries such values in a submission's "extra" object.
const extraPrefix = "extra."

// FormKey names one form: a kind and, for a district's entry, the district
// and household category. Both are empty for the city-wide form.
type FormKey struct {
	Kind         string `json:"kind"`
	DistrictCode string `json:"districtCode,omitempty"`
	CategoryCode string `json:"categoryCode,omitempty"`
}

// Design is a form as the designer lays it out.
type Design struct {
	Sections []DesignSection `json:"sections"`
}

// DesignSection is a titled group of items, shown after the built-in
// sections of the city-wide form.
type DesignSection struct {
	Title string       `json:"title"`
	Items []DesignItem `json:"items"`
}

// DesignItem places a library field or certificate. Required, when set,
// overrides the library's flag; Linkage, when set, replaces the library
// field's linkage rules.
type DesignItem struct {
	Kind     string         `json:"kind"`
	Code     string         `json:"code"`
	Required *bool          `json:"required,omitempty"`
	Linkage  *[]LinkageRule `json:"linkage,omitempty"`
}

// SchemaField is a field of a published schema, as the parents' app renders
// it and the edge's pre-check validates it.
type SchemaField struct {
	Key            string          `json:"key"`
	Label          string          `json:"label"`
	Type           string          `json:"type"`
	Required       bool            `json:"required"`
	Help           string          `json:"help,omitempty"`
	MinLength      int             `json:"minLength,omitempty"`
	MaxLength      int             `json:"maxLength,omitempty"`
	Pattern        string          `json:"pattern,omitempty"`
	PatternMessage string          `json:"patternMessage,omitempty"`
	Min            *float64        `json:"min,omitempty"`
	Max            *float64        `json:"max,omitempty"`
	Options        []SchemaOption  `json:"options,omitempty"`
	Linkage        []SchemaLinkage `json:"linkage,omitempty"`
}

// SchemaOption is one choice of a select field.
type SchemaOption struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// SchemaLinkage is a linkage rule with the schema key of the field it
// depends on.
type SchemaLinkage struct {
	Action string `json:"action"`
	Field  string `json:"field"`
	Equals string `json:"equals,omitempty"`
}

// SchemaCertificate is a certificate that a designed section requires or
// accepts.
type SchemaCertificate struct {
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	Help          string   `json:"help,omitempty"`
	Required      bool     `json:"required"`
	AcceptedTypes []string `json:"acceptedTypes"`
	MaxSizeKB     int      `json:"maxSizeKB"`
	MaxCount      int      `json:"maxCount"`
}

// schemaSection is a section of a published schema. Built-in sections are
// copied from the city-wide base form as they are.
type schemaSection struct {
	Key          string              `json:"key"`
	Title        string              `json:"title"`
	Fields       []json.RawMessage   `json:"fields"`
	Certificates []SchemaCertificate `json:"certificates,omitempty"`
}

type schemaBody struct {
	Title    string          `json:"title"`
	Notice   string          `json:"notice"`
	Sections []schemaSection `json:"sections"`
}

// Errors of the designer.
var (
	ErrUnknownKind     = apierror.Invalid("kind", "unknown_kind", "表单类型应为登记表或报名表。")
	ErrUnknownCategory = apierror.Invalid("category", "unknown_category", "报名类别不存在，请从列表中选择。")
	ErrDistrictForm    = apierror.Invalid("district", "district_registration_form", "信息登记表由市级统一配置；各区请配置报名表。")
	ErrNoBaseForm      = apierror.New(http.StatusConflict, "no_base_form", "尚未导入市级默认表单，请先运行数据初始化。")
	ErrVersionNotFound = apierror.New(http.StatusNotFound, "version_not_found", "未找到该版本的表单。")
)

// checkKey checks a form key against the database and the staff member's
// scope: district staff reach their own district's application forms, and
// only the city reaches the city-wide forms.
func checkKey(ctx context.Context, db sqlx.QueryerContext, scope access.Scope, key FormKey) error {
	if key.Kind != KindRegistration && key.Kind != KindApplication {
		return ErrUnknownKind
	}
	if (key.DistrictCode == "") != (key.CategoryCode == "") {
		return apierror.Invalid("category", "missing_field", "请同时选择区和报名类别，或都不选（市级通用表单）。")
	}
	if key.DistrictCode == "" {
		if scope.Level != access.LevelCity {
			return access.ErrOutOfScope
		}
		return nil
	}
	if key.Kind == KindRegistration {
		return ErrDistrictForm
	}
	if err := checkDistrictCode(key.DistrictCode, "district"); err != nil {
		return err
	}
	if !scope.AllowsDistrict(key.DistrictCode) {
		return access.ErrOutOfScope
	}
	var exists bool
	if err := sqlx.GetContext(ctx, db, &exists, `SELECT EXISTS (SELECT 1 FROM household_category WHERE code = $1)`,
		key.CategoryCode); err != nil {
		return err
	}
	if !exists {
		return ErrUnknownCategory
	}
	return nil
}

// library is the effective library of one district (or the city's alone).
type library struct {
	fields       map[string]Field
	certificates map[string]Certificate
}

// effectiveLibrary loads the library as districtCode's forms use it: a
// district override replaces the city row with its code, and disabled rows
// are left out.
func effectiveLibrary(ctx context.Context, db sqlx.QueryerContext, scope access.Scope, districtCode string) (*library, error) {
	fields, err := listFields(ctx, db, scope, districtCode)
	if err != nil {
		return nil, err
	}
	certificates, err := listCertificates(ctx, db, scope, districtCode)
	if err != nil {
		return nil, err
	}
	lib := &library{fields: map[string]Field{}, certificates: map[string]Certificate{}}
	for _, field := range fields { // city rows come first within each code
		lib.fields[field.Code] = field
	}
	for code, field := range lib.fields {
		if !field.Enabled {
			delete(lib.fields, code)
		}
	}
	for _, certificate := range certificates {
		lib.certificates[certificate.Code] = certificate
	}
	for code, certificate := range lib.certificates {
		if !certificate.Enabled {
			delete(lib.certificates, code)
		}
	}
	return lib, nil
}

// baseBody returns the first city-wide version of a kind: the built-in
// sections every designed form starts with.
func baseBody(ctx context.Context, db sqlx.QueryerContext, kind string) (schemaBody, error) {
	const q = `
		SELECT body FROM form_schema
		WHERE kind = $1 AND district_code IS NULL AND category_code IS NULL
		ORDER BY version LIMIT 1`
	var body schemaBody
	var raw []byte
	err := sqlx.GetContext(ctx, db, &raw, q, kind)
	if errors.Is(err, sql.ErrNoRows) {
		return body, ErrNoBaseForm
	}
	if err != nil {
		return body, err
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return body, fmt.Errorf("base %s form: %w", kind, err)
	}
	return body, nil
}

// fieldKeys returns the keys of the fields of a built-in section.
func fieldKeys(section schemaSection) ([]string, error) {
	keys := make([]string, len(section.Fields))
	for i, raw := range section.Fields {
		var field struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(raw, &field); err != nil {
			return nil, err
		}
		keys[i] = field.Key
	}
	return keys, nil
}

// checkDesign checks a design against the library and the base form. It
// returns an *apierror.Error naming the first problem.
func checkDesign(design Design, lib *library, base schemaBody) error {
	if len(design.Sections) > MaxSections {
		return apierror.Invalid("sections", "too_many_items", fmt.Sprintf("分组最多 %d 个。", MaxSections))
	}
	present := map[string]bool{}
	for _, section := range base.Sections {
		keys, err := fieldKeys(section)
		if err != nil {
			return err
		}
		for _, key := range keys {
			present[key] = true
		}
	}
	placed := map[string]bool{}
	for i, section := range design.Sections {
		path := "sections[" + strconv.Itoa(i) + "]"
		if err := checkText(path+".title", "分组标题", section.Title, MaxSectionTitle, true); err != nil {
			return err
		}
		if len(section.Items) > MaxItemsPerSection {
			return apierror.Invalid(path+".items", "too_many_items", fmt.Sprintf("每个分组最多 %d 项。", MaxItemsPerSection))
		}
		for j, item := range section.Items {
			itemPath := path + ".items[" + strconv.Itoa(j) + "]"
			switch item.Kind {
			case ItemField:
				if _, ok := lib.fields[item.Code]; !ok {
					return apierror.Invalid(itemPath, "unknown_field", "字段（代码 "+item.Code+"）已不在本区可用的字段库中，可能已被删除，请从表单中移除或刷新后重新选择。")
				}
				present[extraPrefix+item.Code] = true
			case ItemCertificate:
				if _, ok := lib.certificates[item.Code]; !ok {
					return apierror.Invalid(itemPath, "unknown_certificate", "证照“"+item.Code+"”不在本区可用的证照库中，请刷新后重新选择。")
				}
			default:
				return apierror.Invalid(itemPath+".kind", "invalid_choice", "表单项应为字段或证照。")
			}
			if placed[item.Kind+"/"+item.Code] {
				return apierror.Invalid(itemPath, "duplicate_item", "同一字段或证照在表单中只能出现一次。")
			}
			placed[item.Kind+"/"+item.Code] = true
			if item.Linkage != nil {
				if err := checkLinkage(item.Code, *item.Linkage, itemPath+".linkage"); err != nil {
					return err
				}
			}
		}
	}

	// Every linkage rule must depend on a field of this form.
	for i, section := range design.Sections {
		for j, item := range section.Items {
			if item.Kind != ItemField {
				continue
			}
			for _, rule := range itemLinkage(item, lib.fields[item.Code]) {
				if !present[extraPrefix+rule.Field] {
					return apierror.Invalid(fmt.Sprintf("sections[%d].items[%d].linkage", i, j), "unknown_linkage_field",
						"“"+lib.fields[item.Code].Label+"”的联动规则依据的字段“"+rule.Field+"”不在本表单中，请先加入该字段或修改联动规则。")
				}
			}
		}
	}
	return nil
}

func itemLinkage(item DesignItem, field Field) []LinkageRule {
	if item.Linkage != nil {
		return *item.Linkage
	}
	return field.Linkage
}

// dictionaryOptions returns the options of a dictionary as a district's
// forms show them: enabled city items with the district's overrides.
func dictionaryOptions(ctx context.Context, db sqlx.QueryerContext, code, districtCode string) ([]SchemaOption, error) {
	const q = `
		SELECT i.district_code, i.value, i.label, i.sort_order, i.enabled
		FROM dictionary_item i
		WHERE i.dictionary_code = $1 AND (i.district_code IS NULL OR i.district_code = $2)
		ORDER BY i.district_code NULLS FIRST, i.sort_order, i.id`
	rows, err := db.QueryContext(ctx, q, code, nullString(districtCode))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dictionary := snapshot.Dictionary{Code: code, Overrides: map[string][]snapshot.DictionaryItem{}}
	for rows.Next() {
		var district sql.NullString
		var item snapshot.DictionaryItem
		var enabled bool
		if err := rows.Scan(&district, &item.Value, &item.Label, &item.SortOrder, &enabled); err != nil {
			return nil, err
		}
		item.Disabled = !enabled
		if district.Valid {
			dictionary.Overrides[district.String] = append(dictionary.Overrides[district.String], item)
		} else if enabled {
			dictionary.Items = append(dictionary.Items, item)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	options := []SchemaOption{}
	for _, item := range dictionary.EffectiveItems(districtCode) {
		options = append(options, SchemaOption{Value: item.Value, Label: item.Label})
	}
	return options, nil
}

// schemaField turns a placed library field into its schema form.
func schemaField(ctx context.Context, db sqlx.QueryerContext, item DesignItem, field Field, districtCode string) (SchemaField, error) {
	out := SchemaField{
		Key: extraPrefix + field.Code, Label: field.Label, Type: field.Type, Required: field.Required, Help: field.Help,
		Pattern: field.Pattern, PatternMessage: field.PatternMessage, Min: field.Min, Max: field.Max,
	}
	if item.Required != nil {
		out.Required = *item.Required
	}
	if field.MinLength != nil {
		out.MinLength = *field.MinLength
	}
	if field.MaxLength != nil {
		out.MaxLength = *field.MaxLength
	}
	if field.Type == "address" && out.MaxLength == 0 {
		out.MaxLength = 100
	}
	for _, rule := range itemLinkage(item, field) {
		out.Linkage = append(out.Linkage, SchemaLinkage{Action: rule.Action, Field: extraPrefix + rule.Field, Equals: rule.Equals})
	}
	if field.Type == "select" {
		options, err := dictionaryOptions(ctx, db, field.DictionaryCode, districtCode)
		if err != nil {
			return out, err
		}
		out.Options = options
	}
	return out, nil
}

// buildBody resolves a design into the schema body the edge serves: the
// base form's sections, without the extra fields the design places itself,
// followed by the designed sections.
func buildBody(ctx context.Context, db sqlx.QueryerContext, key FormKey, design Design, lib *library, base schemaBody) (json.RawMessage, error) {
	designed := map[string]bool{}
	for _, section := range design.Sections {
		for _, item := range section.Items {
			if item.Kind == ItemField {
				designed[extraPrefix+item.Code] = true
			}
		}
	}
	body := schemaBody{Title: base.Title, Notice: base.Notice, Sections: []schemaSection{}}
	for _, section := range base.Sections {
		keys, err := fieldKeys(section)
		if err != nil {
			return nil, err
		}
		builtIn := section
		builtIn.Fields = []json.RawMessage{}
		for i, raw := range section.Fields {
			if !designed[keys[i]] {
				builtIn.Fields = append(builtIn.Fields, raw)
			}
		}
		if len(builtIn.Fields) > 0 || len(builtIn.Certificates) > 0 {
			body.Sections = append(body.Sections, builtIn)
		}
	}

	for i, section := range design.Sections {
		out := schemaSection{Key: "designed" + strconv.Itoa(i+1), Title: section.Title, Fields: []json.RawMessage{}}
		for _, item := range section.Items {
			switch item.Kind {
			case ItemField:
				field, err := schemaField(ctx, db, item, lib.fields[item.Code], key.DistrictCode)
				if err != nil {
					return nil, err
				}
				raw, err := json.Marshal(field)
				if err != nil {
					return nil, err
				}
				out.Fields = append(out.Fields, raw)
			case ItemCertificate:
				certificate := lib.certificates[item.Code]
				out.Certificates = append(out.Certificates, SchemaCertificate{
					Code: certificate.Code, Name: certificate.Name, Help: certificate.Help,
					Required: item.Required != nil && *item.Required, AcceptedTypes: certificate.AcceptedTypes,
					MaxSizeKB: certificate.MaxSizeKB, MaxCount: certificate.MaxCount,
				})
			}
		}
		body.Sections = append(body.Sections, out)
	}
	return json.Marshal(body)
}
