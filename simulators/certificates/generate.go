package certificates

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/simulators/internal/document"
)

// Certificate types accepted in certificateTypes.
const (
	TypeBirthCertificate    = "birth_certificate"
	TypeHouseholdRegister   = "household_register"
	TypeResidencePermit     = "residence_permit"
	TypePropertyCertificate = "property_certificate"
	TypeTenancyRegistration = "tenancy_registration"
)

// allTypes lists every certificate type in the order used when a request
// names none.
var allTypes = []string{
	TypeBirthCertificate,
	TypeHouseholdRegister,
	TypeResidencePermit,
	TypePropertyCertificate,
	TypeTenancyRegistration,
}

var typeNames = map[string]string{
	TypeBirthCertificate:    "出生医学证明",
	TypeHouseholdRegister:   "户口簿",
	TypeResidencePermit:     "上海市居住证",
	TypePropertyCertificate: "不动产权证书",
	TypeTenancyRegistration: "租赁登记备案证明",
}

// Types returns every supported certificate type.
func Types() []string {
	return append([]string(nil), allTypes...)
}

// TypeName returns the Chinese name of a certificate type, or "" for an
// unknown type.
func TypeName(certificateType string) string {
	return typeNames[certificateType]
}

// Certificate is one e-certificate as the certificate API returns it. Dates
// are "2006-01-02". Fields holds the type's own data, all values strings.
type Certificate struct {
	Type     string            `json:"type"`
	Name     string            `json:"name"`
	Number   string            `json:"number"`
	IssuedAt string            `json:"issuedAt"`
	Issuer   string            `json:"issuer"`
	Fields   map[string]string `json:"fields"`
}

// Lookup returns the holder's certificates of the given types, in the order
// of types, leaving out the types the holder has none of. Unknown and
// repeated types are ignored. Everything is derived from the normalised document number, so the
// same number always gives the same certificates, whatever else was asked.
//
// For a resident ID card number the birth date, sex and hukou district are
// read from the number itself where they are valid.
func Lookup(documentType, documentNumber string, types []string) []Certificate {
	h := newHolder(documentType, document.NormalizeNumber(documentNumber))

	found := []Certificate{}
	returned := make(map[string]bool, len(allTypes))
	for _, certificateType := range types {
		if !h.hasType[certificateType] || returned[certificateType] {
			continue
		}
		returned[certificateType] = true
		r := h.generator(certificateType)
		var certificate Certificate
		switch certificateType {
		case TypeBirthCertificate:
			certificate = h.birthCertificate(r)
		case TypeHouseholdRegister:
			certificate = h.householdRegister(r)
		case TypeResidencePermit:
			certificate = h.residencePermit(r)
		case TypePropertyCertificate:
			certificate = h.propertyCertificate(r)
		case TypeTenancyRegistration:
			certificate = h.tenancyRegistration(r)
		default:
			continue
		}
		certificate.Type = certificateType
		certificate.Name = typeNames[certificateType]
		found = append(found, certificate)
	}
	return found
}

// address is a synthetic street address inside a real district and street.
type address struct {
	District district
	Street   street
	Line     string
}

func (a address) fields(into map[string]string) {
	into["address"] = a.Line
	into["districtCode"] = a.District.Code
	into["district"] = a.District.Name
	into["streetCode"] = a.Street.Code
	into["street"] = a.Street.Name
}

// holder is everything the simulator makes up about one document number.
type holder struct {
	hash      uint64
	surname   string
	name      string
	sex       string
	birthDate time.Time
	// hukouAddress is the household register's address. homeAddress is the
	// holder's home, equal to hukouAddress for about 60% of holders.
	hukouAddress address
	homeAddress  address
	hasType      map[string]bool
}

func newHolder(documentType, number string) holder {
	h := holder{hash: document.Hash(number), hasType: make(map[string]bool)}
	r := h.generator("holder")

	h.surname = pick(r, surnames)
	h.name = h.surname + givenName(r)
	h.sex = pick(r, []string{"男", "女"})
	h.birthDate = randomDate(r, date(2021, 9, 1), date(2023, 8, 31))
	hukouDistrict := districts[r.IntN(len(districts))]
	if document.IsResidentIDCard(documentType) {
		h.applyResidentIDNumber(number, &hukouDistrict)
	}
	h.hukouAddress = randomAddress(r, hukouDistrict)
	h.homeAddress = h.hukouAddress
	if r.Float64() >= 0.6 {
		h.homeAddress = randomAddress(r, districts[r.IntN(len(districts))])
	}

	// About 5% of holders have no certificate at all; the others hold each
	// type with the shares below. A Shanghai hukou and a residence permit
	// exclude each other, and so do an owned and a rented home.
	if r.Float64() < 0.05 {
		return h
	}
	h.hasType[TypeBirthCertificate] = r.Float64() < 0.85
	h.hasType[TypeHouseholdRegister] = r.Float64() < 0.65
	h.hasType[TypeResidencePermit] = !h.hasType[TypeHouseholdRegister] && r.Float64() < 0.85
	h.hasType[TypePropertyCertificate] = r.Float64() < 0.45
	h.hasType[TypeTenancyRegistration] = !h.hasType[TypePropertyCertificate] && r.Float64() < 0.70
	return h
}

// applyResidentIDNumber takes the birth date (digits 7 to 14), sex (digit
// 17, odd for male) and, for a Shanghai code, the district (digits 1 to 6)
// from an 18-character resident ID number.
func (h *holder) applyResidentIDNumber(number string, hukouDistrict *district) {
	if len(number) != 18 {
		return
	}
	if birthDate, err := time.Parse("20060102", number[6:14]); err == nil {
		h.birthDate = birthDate
	}
	if digit, err := strconv.Atoi(number[16:17]); err == nil {
		h.sex = "女"
		if digit%2 == 1 {
			h.sex = "男"
		}
	}
	if d, ok := districtByCode(number[:6]); ok {
		*hukouDistrict = d
	}
}

// generator returns a generator seeded by the holder and the purpose, so
// each certificate type's data does not depend on which others were asked.
func (h holder) generator(purpose string) *rand.Rand {
	return rand.New(rand.NewPCG(h.hash, fnv64(purpose)))
}

func (h holder) birthCertificate(r *rand.Rand) Certificate {
	fields := map[string]string{
		"childName":  h.name,
		"sex":        h.sex,
		"birthDate":  formatDate(h.birthDate),
		"birthPlace": "上海市" + h.hukouAddress.District.Name,
		"motherName": pick(r, surnames) + givenName(r),
		"fatherName": h.surname + givenName(r),
	}
	return Certificate{
		Number:   fmt.Sprintf("%c%09d", "NOPQ"[r.IntN(4)], r.IntN(1_000_000_000)),
		IssuedAt: formatDate(h.birthDate.AddDate(0, 0, 1+r.IntN(7))),
		Issuer:   pick(r, hospitals),
		Fields:   fields,
	}
}

func (h holder) householdRegister(r *rand.Rand) Certificate {
	registeredAt := randomDate(r, date(2010, 1, 1), date(2024, 12, 31))
	fields := map[string]string{"registeredAt": formatDate(registeredAt)}
	h.hukouAddress.fields(fields)
	if r.Float64() < 0.5 {
		fields["householderName"] = h.name
		fields["relationshipToHouseholder"] = "户主"
	} else {
		fields["householderName"] = h.surname + givenName(r)
		fields["relationshipToHouseholder"] = map[string]string{"男": "子", "女": "女"}[h.sex]
	}
	return Certificate{
		Number:   fmt.Sprintf("%09d", r.IntN(1_000_000_000)),
		IssuedAt: formatDate(registeredAt),
		Issuer:   "上海市公安局" + shortDistrictName(h.hukouAddress.District) + "分局" + shortStreetName(h.hukouAddress.Street) + "派出所",
		Fields:   fields,
	}
}

func (h holder) residencePermit(r *rand.Rand) Certificate {
	validFrom := randomDate(r, date(2023, 1, 1), date(2025, 12, 31))
	fields := map[string]string{
		"holderName":        h.name,
		"validFrom":         formatDate(validFrom),
		"validUntil":        formatDate(validFrom.AddDate(3, 0, -1)),
		"pointsStandardMet": strconv.FormatBool(r.Float64() < 0.4),
	}
	h.homeAddress.fields(fields)
	return Certificate{
		Number:   fmt.Sprintf("31%016d", r.Uint64N(10_000_000_000_000_000)),
		IssuedAt: formatDate(validFrom),
		Issuer:   "上海市公安局",
		Fields:   fields,
	}
}

func (h holder) propertyCertificate(r *rand.Rand) Certificate {
	issuedAt := randomDate(r, date(2008, 1, 1), date(2025, 12, 31))
	fields := map[string]string{
		"ownerName":        h.name,
		"ownership":        pick(r, []string{"单独所有", "共同共有", "按份共有"}),
		"usage":            "住宅",
		"areaSquareMetres": fmt.Sprintf("%.2f", 35+r.Float64()*150),
	}
	h.homeAddress.fields(fields)
	return Certificate{
		Number:   fmt.Sprintf("沪（%d）%s字不动产权第%06d号", issuedAt.Year(), shortDistrictName(h.homeAddress.District), r.IntN(1_000_000)),
		IssuedAt: formatDate(issuedAt),
		Issuer:   "上海市规划和自然资源局",
		Fields:   fields,
	}
}

func (h holder) tenancyRegistration(r *rand.Rand) Certificate {
	leaseStart := randomDate(r, date(2023, 1, 1), date(2025, 12, 31))
	leaseEnd := leaseStart.AddDate(1+r.IntN(3), 0, -1)
	fields := map[string]string{
		"tenantName":   h.name,
		"landlordName": pick(r, surnames) + givenName(r),
		"leaseStart":   formatDate(leaseStart),
		"leaseEnd":     formatDate(leaseEnd),
	}
	h.homeAddress.fields(fields)
	return Certificate{
		Number:   fmt.Sprintf("%s租备%d%06d", shortDistrictName(h.homeAddress.District), leaseStart.Year(), r.IntN(1_000_000)),
		IssuedAt: formatDate(leaseStart.AddDate(0, 0, r.IntN(20))),
		Issuer:   "上海市" + h.homeAddress.District.Name + "住房保障和房屋管理局",
		Fields:   fields,
	}
}

func randomAddress(r *rand.Rand, d district) address {
	s := d.Streets[r.IntN(len(d.Streets))]
	line := fmt.Sprintf("上海市%s%s路%d弄%d号%d%02d室",
		d.Name, pick(r, roadStems), 1+r.IntN(1500), 1+r.IntN(60), 1+r.IntN(30), 1+r.IntN(6))
	return address{District: d, Street: s, Line: line}
}

// shortDistrictName drops the 区 or 新区 suffix: 浦东新区 → 浦东.
func shortDistrictName(d district) string {
	name := strings.TrimSuffix(d.Name, "新区")
	return strings.TrimSuffix(name, "区")
}

// shortStreetName drops the 街道, 镇 or 乡 suffix: 外滩街道 → 外滩.
func shortStreetName(s street) string {
	for _, suffix := range []string{"街道", "镇", "乡"} {
		if name, ok := strings.CutSuffix(s.Name, suffix); ok {
			return name
		}
	}
	return s.Name
}

func givenName(r *rand.Rand) string {
	name := pick(r, givenNameCharacters)
	if r.IntN(4) > 0 {
		name += pick(r, givenNameCharacters)
	}
	return name
}

func pick(r *rand.Rand, choices []string) string {
	return choices[r.IntN(len(choices))]
}

func date(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// randomDate returns a uniformly chosen day in [from, to].
func randomDate(r *rand.Rand, from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours()/24) + 1
	return from.AddDate(0, 0, r.IntN(days))
}

func formatDate(t time.Time) string {
	return t.Format(time.DateOnly)
}

func fnv64(text string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(text))
	return h.Sum64()
}

var surnames = strings.Fields(`王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗
郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈
姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 贾 夏 韦 方 白 邹 孟 熊 秦 邱 江 尹 薛 段 雷 侯 龙 史
陶 黎 贺 顾 毛 郝 龚 邵 万 钱 严 武 戴 莫 孔 汤 欧阳 司马 诸葛`)

var givenNameCharacters = strings.Fields(`子 涵 梓 轩 浩 宇 欣 怡 一 诺 雨 泽 思 辰 嘉 佳 睿 铭 晨 悦
可 馨 语 彤 俊 杰 若 曦 安 琪 宸 昊 然 沐 瑶 奕 博 文 乐 天 明 华 静 芳 敏 伟 磊 洋 婷 雪 丽 强
军 勇 艳 秀 英 玉 兰 霞 建 国 晓 云 飞 鹏 志 宁 蕾 璐 岚 钰 晗 皓 煜 彬 凯 航 逸 诚 楠 妍 菲`)

var roadStems = strings.Fields(`兴业 和平 文化 幸福 光明 振兴 民主 同心 长乐 友谊 育才 向阳 阳光 锦绣 华夏 春申 景秀
康乐 枫林 银杏 海棠 玉兰 丹桂 秀川 金桥 新华 安远 广延 丰庄 松浦`)

var hospitals = strings.Fields(`上海市第一妇婴保健院 复旦大学附属妇产科医院 上海市国际和平妇幼保健院
上海交通大学医学院附属仁济医院 上海市第六人民医院 上海市第一人民医院 复旦大学附属中山医院
上海交通大学医学院附属新华医院 上海市长宁区妇幼保健院 上海市浦东新区妇幼保健院`)
