// Package dictionary manages the city's code lists (出生地省份, 民族, 国籍/地区
// and the other lists the enrolment forms offer) and each district's
// overrides of them: city staff edit the city items, district staff their own
// district's overrides. Every change is audited in the same transaction.
package dictionary

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// ItemColumns tie a dictionary item (alias i) to a data scope: a district's
// override belongs to its district. A city item has no district, so only the
// city scope, whose condition is TRUE, covers it.
var ItemColumns = access.Columns{Districts: []string{"i.district_code"}}

// Limits of an item's fields.
const (
	MaxValueLength = 32
	MaxLabelLength = 50
	MaxSortOrder   = 999_999
)

// Errors of the dictionary API.
var (
	ErrDictionaryNotFound = apierror.New(http.StatusNotFound, "dictionary_not_found", "未找到该字典，请刷新页面后重试。")
	ErrItemNotFound       = apierror.New(http.StatusNotFound, "item_not_found", "未找到该字典项，可能已被删除，请刷新页面后重试。")
)

// Dictionary is a row of the dictionary table.
type Dictionary struct {
	Code        string `db:"code" json:"code"`
	Name        string `db:"name" json:"name"`
	Description string `db:"description" json:"description"`
}

// Item is a row of the dictionary_item table. DistrictCode is empty for a
// city item.
type Item struct {
	ID             int64     `json:"id"`
	DictionaryCode string    `json:"dictionaryCode"`
	DistrictCode   string    `json:"districtCode,omitempty"`
	Value          string    `json:"value"`
	Label          string    `json:"label"`
	SortOrder      int       `json:"sortOrder"`
	Enabled        bool      `json:"enabled"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// itemState is an item as the audit trail records it before and after a
// change.
type itemState struct {
	DictionaryCode string `json:"dictionaryCode"`
	DistrictCode   string `json:"districtCode,omitempty"`
	Value          string `json:"value"`
	Label          string `json:"label"`
	SortOrder      int    `json:"sortOrder"`
	Enabled        bool   `json:"enabled"`
}

func (i Item) state() itemState {
	return itemState{
		DictionaryCode: i.DictionaryCode, DistrictCode: i.DistrictCode, Value: i.Value, Label: i.Label,
		SortOrder: i.SortOrder, Enabled: i.Enabled,
	}
}

var (
	codePattern     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	districtPattern = regexp.MustCompile(`^[0-9]{6}$`)
	valuePattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// ValidateValue checks an item's value: a code of letters, digits, "_", "."
// and "-", starting with a letter or digit, at most MaxValueLength long.
func ValidateValue(value string) error {
	if value == "" {
		return apierror.Invalid("value", "value_required", "请填写字典项的值。")
	}
	if len(value) > MaxValueLength || !valuePattern.MatchString(value) {
		return apierror.Invalid("value", "invalid_value",
			fmt.Sprintf("字典项的值只能包含字母、数字、下划线、点和连字符，以字母或数字开头，不超过 %d 个字符。", MaxValueLength))
	}
	return nil
}

// markup are the characters a label must not contain, so that no page
// renders a label as HTML.
const markup = "<>&\"'`"

// ValidateLabel checks an item's label: not empty, at most MaxLabelLength
// characters, valid UTF-8 without control characters or markup characters.
func ValidateLabel(label string) error {
	if label == "" {
		return apierror.Invalid("label", "label_required", "请填写字典项的名称。")
	}
	if !utf8.ValidString(label) || utf8.RuneCountInString(label) > MaxLabelLength {
		return apierror.Invalid("label", "invalid_label", fmt.Sprintf("字典项的名称不能超过 %d 个字。", MaxLabelLength))
	}
	if strings.ContainsAny(label, markup) || strings.ContainsFunc(label, unicode.IsControl) {
		return apierror.Invalid("label", "label_markup", "字典项的名称不能包含 < > & \" ' ` 等标记字符或控制字符。")
	}
	return nil
}

func validateSortOrder(sortOrder int) error {
	if sortOrder < 0 || sortOrder > MaxSortOrder {
		return apierror.Invalid("sortOrder", "invalid_sort_order", fmt.Sprintf("排序号应为 0 至 %d 的整数。", MaxSortOrder))
	}
	return nil
}

// getDictionary returns the dictionary with code, or ErrDictionaryNotFound.
func getDictionary(ctx context.Context, db sqlx.QueryerContext, code string) (Dictionary, error) {
	var found Dictionary
	if !codePattern.MatchString(code) {
		return found, ErrDictionaryNotFound
	}
	err := sqlx.GetContext(ctx, db, &found, `SELECT code, name, description FROM dictionary WHERE code = $1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return found, ErrDictionaryNotFound
	}
	return found, err
}

// checkDistrict returns a 400 on field unless code names a district.
func checkDistrict(ctx context.Context, db sqlx.QueryerContext, code, field string) error {
	unknown := apierror.Invalid(field, "unknown_district", "所选的区不存在，请重新选择。")
	if !districtPattern.MatchString(code) {
		return unknown
	}
	var exists bool
	if err := sqlx.GetContext(ctx, db, &exists, `SELECT EXISTS (SELECT 1 FROM district WHERE code = $1)`, code); err != nil {
		return err
	}
	if !exists {
		return unknown
	}
	return nil
}

// effectiveItems applies a district's overrides to the city items with the
// same rule the edge uses (snapshot.Dictionary.EffectiveItems) and returns
// the result with each item's ID and source.
func effectiveItems(cityItems, overrides []Item, districtCode string) []EffectiveItem {
	merged := snapshot.Dictionary{Overrides: map[string][]snapshot.DictionaryItem{}}
	cityByValue := map[string]Item{}
	for _, item := range cityItems {
		cityByValue[item.Value] = item
		if item.Enabled {
			merged.Items = append(merged.Items, snapshotItem(item))
		}
	}
	overrideByValue := map[string]Item{}
	for _, item := range overrides {
		overrideByValue[item.Value] = item
		merged.Overrides[districtCode] = append(merged.Overrides[districtCode], snapshotItem(item))
	}
	effective := []EffectiveItem{}
	for _, item := range merged.EffectiveItems(districtCode) {
		source, stored := SourceCity, cityByValue[item.Value]
		if override, ok := overrideByValue[item.Value]; ok {
			source, stored = SourceDistrict, override
		}
		effective = append(effective, EffectiveItem{
			ID: stored.ID, Value: item.Value, Label: item.Label, SortOrder: item.SortOrder, Source: source,
		})
	}
	return effective
}

func snapshotItem(item Item) snapshot.DictionaryItem {
	return snapshot.DictionaryItem{Value: item.Value, Label: item.Label, SortOrder: item.SortOrder, Disabled: !item.Enabled}
}

// Sources of an effective item.
const (
	SourceCity     = "city"
	SourceDistrict = "district"
)

// EffectiveItem is an item as a district's forms show it. Source is
// SourceCity or SourceDistrict, the row that supplies the item, and ID is
// that row's ID.
type EffectiveItem struct {
	ID        int64  `json:"id"`
	Value     string `json:"value"`
	Label     string `json:"label"`
	SortOrder int    `json:"sortOrder"`
	Source    string `json:"source"`
}
