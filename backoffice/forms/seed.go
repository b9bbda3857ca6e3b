package forms

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// seedLockKey is the advisory lock that serialises concurrent Seed calls on
// one database; the dictionaries use 7_140_003.
const seedLockKey = 7_140_007

func intPointer(value int) *int { return &value }

// starterFields are the city library's first fields: the ones the city
// maintains for registration and application forms, most of them choices
// from the city's dictionaries.
var starterFields = []Field{
	{Code: "birthProvince", Label: "出生地省份", Type: "select", DictionaryCode: "birth_province"},
	{Code: "nationality", Label: "国籍/地区", Type: "select", DictionaryCode: "nationality"},
	{Code: "ethnicity", Label: "民族", Type: "select", DictionaryCode: "ethnicity"},
	{Code: "nativePlace", Label: "籍贯", Type: "select", DictionaryCode: "native_place"},
	{Code: "hukouNature", Label: "户口性质", Type: "select", DictionaryCode: "hukou_nature"},
	{Code: "relationToHouseholder", Label: "户主与幼儿关系", Type: "select", DictionaryCode: "relation_to_householder"},
	{Code: "hukouCategory", Label: "户籍类别", Type: "select", DictionaryCode: "hukou_category"},
	{Code: "hukouAtResidence", Label: "是否人户一致", Type: "select", DictionaryCode: "hukou_at_residence"},
	{Code: "housingType", Label: "住房性质", Type: "select", DictionaryCode: "housing_type"},
	{Code: "ownerRelation", Label: "产权人或承租人与幼儿关系", Type: "select", DictionaryCode: "owner_relation",
		Linkage: []LinkageRule{{Action: LinkageRequire, Field: "housingType"}}},
	{Code: "propertyAddress", Label: "产权地址", Type: "address", MaxLength: intPointer(100),
		Help:    "按不动产权证或租赁备案证明上的地址填写。",
		Linkage: []LinkageRule{{Action: LinkageShow, Field: "housingType"}}},
	{Code: "ownerName", Label: "产权人或承租人姓名", Type: "text", MaxLength: intPointer(30),
		Linkage: []LinkageRule{{Action: LinkageShow, Field: "housingType"}}},
	{Code: "ownerIdNumber", Label: "产权人或承租人身份证号", Type: "id_number",
		Linkage: []LinkageRule{{Action: LinkageShow, Field: "housingType"}}},
	{Code: "contactPhone", Label: "备用联系电话", Type: "phone"},
	{Code: "siblingInKindergarten", Label: "有兄弟姐妹在读本区幼儿园", Type: "boolean"},
	{Code: "siblingKindergarten", Label: "兄弟姐妹就读的幼儿园", Type: "text", MaxLength: intPointer(50),
		Linkage: []LinkageRule{{Action: LinkageShow, Field: "siblingInKindergarten", Equals: "true"}}},
	{Code: "moveInDate", Label: "入住现居住地址的日期", Type: "date"},
	{Code: "residencePoints", Label: "居住证积分", Type: "number", Help: "持上海市居住证的，填写当前积分。"},
	{Code: "fatherEmployer", Label: "父亲工作单位", Type: "text", MaxLength: intPointer(60)},
	{Code: "motherEmployer", Label: "母亲工作单位", Type: "text", MaxLength: intPointer(60)},
	{Code: "socialInsuranceNumber", Label: "社保缴纳凭证编号", Type: "text", MinLength: intPointer(6), MaxLength: intPointer(20),
		Pattern: "^[0-9A-Za-z]+$", PatternMessage: "社保缴纳凭证编号只能包含字母和数字。"},
}

// starterCertificates are the city library's first certificate types, the
// ones the city-wide registration form already lists.
var starterCertificates = []Certificate{
	{Code: "birth_certificate", Name: "出生医学证明", Help: "拍摄或扫描正面，信息清晰完整。"},
	{Code: "household_register", Name: "户口簿", Help: "户主页和幼儿本人页。", MaxCount: 4},
	{Code: "residence_permit", Name: "上海市居住证", Help: "监护人的居住证正反面。", MaxCount: 2},
	{Code: "property_certificate", Name: "不动产权证书", Help: "含产权人和房屋坐落地址的页面。", MaxCount: 4},
	{Code: "tenancy_registration", Name: "租赁登记备案证明", Help: "在有效期内的备案证明。", MaxCount: 2},
}

// Seed inserts the starter fields and certificates of the city library.
// Rows that exist (by code) are left as they are, so it is idempotent and
// keeps the edits staff made since. Run it after the dictionaries are
// seeded, because select fields name them.
func Seed(ctx context.Context, db *sqlx.DB) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLockKey); err != nil {
		return fmt.Errorf("seed form library: lock: %w", err)
	}
	for _, field := range starterFields {
		if field.Linkage == nil {
			field.Linkage = []LinkageRule{}
		}
		linkage, err := json.Marshal(field.Linkage)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO form_field (code, label, field_type, dictionary_code, help, min_length, max_length, pattern,
				pattern_message, linkage)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb
			WHERE NOT EXISTS (SELECT 1 FROM form_field WHERE code = $1 AND district_code IS NULL)
			  AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM dictionary WHERE code = $4))`,
			field.Code, field.Label, field.Type, nullString(field.DictionaryCode), field.Help, nullInt(field.MinLength),
			nullInt(field.MaxLength), nullString(field.Pattern), nullString(field.PatternMessage), string(linkage))
		if err != nil {
			return fmt.Errorf("seed form library: field %s: %w", field.Code, err)
		}
	}
	for _, certificate := range starterCertificates {
		maxCount := max(certificate.MaxCount, 1)
		_, err := tx.ExecContext(ctx, `
			INSERT INTO form_certificate (code, name, help, accepted_types, max_size_kb, max_count)
			SELECT $1, $2, $3, ARRAY['jpg', 'png', 'pdf'], 5120, $4
			WHERE NOT EXISTS (SELECT 1 FROM form_certificate WHERE code = $1 AND district_code IS NULL)`,
			certificate.Code, certificate.Name, certificate.Help, maxCount)
		if err != nil {
			return fmt.Errorf("seed form library: certificate %s: %w", certificate.Code, err)
		}
	}
	return tx.Commit()
}
