package precheck

import (
	"fmt"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/person"
	"github.com/sh-preschool/preschool/shared/upload"
)

// Limits on free text, in runes.
const (
	maxHanNameRunes   = 30
	maxLatinNameRunes = 60
	maxAddressRunes   = 100
	maxGuardians      = 2
	maxCertificates   = 10
	maxProvinceRunes  = 20
	// maxPrefillTokenBytes bounds a prefill token (a sealed certificate).
	maxPrefillTokenBytes = 1024
)

// Registration is a validated, normalised registration.
type Registration struct {
	Year          int
	SchemaVersion int
	Child         Child
	Hukou         Hukou
	Residence     Residence
	Guardians     []Guardian
	Certificates  []CertificateRequest
	Extra         map[string]any
	Facts         enrolment.HouseholdFacts
}

// Child is the validated child part of a registration.
type Child struct {
	Name      person.Name
	Sex       string
	BirthDate string // YYYY-MM-DD
	Document  document.Document
}

// Hukou is the validated household registration.
type Hukou struct {
	InShanghai bool
	Province   string
	District   string
	Street     string
	Committee  string
	Address    string
}

// Residence is the validated home address.
type Residence struct {
	District       string
	Street         string
	Committee      string
	Address        string
	AtHukouAddress bool
}

// Guardian is a validated guardian.
type Guardian struct {
	Relation          string          `json:"relation"`
	Name              string          `json:"name"`
	Phone             string          `json:"phone"`
	DocumentType      document.Type   `json:"documentType"`
	DocumentNumber    string          `json:"documentNumber"`
	Nationality       string          `json:"nationality,omitempty"`
	HukouInShanghai   bool            `json:"hukouInShanghai"`
	ShanghaiResidence *ResidenceProof `json:"shanghaiResidence,omitempty"`
	// birthDate comes from the document number when it has one; it is
	// checked, not stored.
	birthDate time.Time
}

// ResidenceProof is a guardian's validated Shanghai residence document.
type ResidenceProof struct {
	Type            string `json:"type"`
	Number          string `json:"number"`
	PointsQualified bool   `json:"pointsQualified"`
}

var guardianRelations = map[string]bool{"father": true, "mother": true, "grandparent": true, "other": true}

var residenceDocuments = map[string]bool{
	enrolment.ResidencePermit:       true,
	enrolment.ResidenceRegistration: true,
	enrolment.OverseasTalentPermit:  true,
}

var certificateTypes = map[string]bool{
	"birth_certificate": true, "household_register": true, "residence_permit": true,
	"property_certificate": true, "tenancy_registration": true,
}

// CheckRegistration validates a registration against the catalogue at time
// now. Every error is an *apierror.Error naming the field.
func CheckRegistration(request *RegistrationRequest, c *catalogue.Catalogue, now time.Time) (*Registration, error) {
	if request.EnrolmentYear == 0 {
		return nil, apierror.Invalid("enrolmentYear", "missing_field", "缺少登记年度，请刷新页面后重新填写。")
	}
	year, ok := c.Year(request.EnrolmentYear)
	if !ok {
		return nil, errUnknownYear(request.EnrolmentYear)
	}
	if now.Before(year.RegistrationOpensAt) || !now.Before(year.RegistrationClosesAt) {
		return nil, errRegistrationClosed(formatTime(year.RegistrationOpensAt), formatTime(year.RegistrationClosesAt), now.Before(year.RegistrationOpensAt))
	}
	registration := &Registration{Year: year.Year}
	today := now.In(enrolment.Shanghai)

	if err := registration.checkChild(&request.Child, year.BirthFrom, year.BirthTo, today); err != nil {
		return nil, err
	}
	if err := registration.checkHukou(&request.Child.Hukou, c); err != nil {
		return nil, err
	}
	if err := registration.checkResidence(&request.Residence, c); err != nil {
		return nil, err
	}
	if err := registration.checkGuardians(request.Guardians, today); err != nil {
		return nil, err
	}
	if err := registration.checkCertificates(request.Certificates); err != nil {
		return nil, err
	}

	form, ok := c.Form(enrolment.KindRegistration)
	if !ok {
		return nil, apierror.Internal
	}
	extra, err := checkExtra(form, request.Extra, request.SchemaVersion)
	if err != nil {
		return nil, err
	}
	registration.Extra = extra
	registration.SchemaVersion = form.Version
	registration.Facts = registration.householdFacts()
	return registration, nil
}

func formatTime(t time.Time) string {
	return t.In(enrolment.Shanghai).Format("2006年1月2日 15:04")
}

// parseDate parses a date written as 2023-10-01. Full-width digits and
// hyphens, which a Chinese input method may type, count as their ASCII
// forms, and surrounding white space is ignored.
func parseDate(text string) (time.Time, error) {
	text = strings.Map(func(r rune) rune {
		if r >= '！' && r <= '～' { // the full-width forms of ASCII '!' to '~'
			return r - ('！' - '!')
		}
		return r
	}, strings.TrimSpace(text))
	return time.Parse(time.DateOnly, text)
}

func formatDate(date string) string {
	parsed, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return parsed.Format("2006年1月2日")
}

func (r *Registration) checkChild(request *ChildRequest, birthFrom, birthTo string, today time.Time) error {
	if strings.TrimSpace(request.Document.Type) == "" {
		return apierror.Invalid("child.document.type", "missing_field", "请选择幼儿的证件类型。")
	}
	documentType, err := document.ParseType(request.Document.Type)
	if err != nil {
		return apierror.As(err).WithField("child.document.type")
	}
	parsed, err := document.Parse(documentType, request.Document.Number, request.Document.Nationality, today)
	if err != nil {
		return apierror.As(err).WithField("child.document." + documentErrorField(err))
	}
	if parsed.Type == document.Passport && parsed.Nationality == "CHN" {
		return errChineseNationalPassport()
	}
	r.Child.Document = parsed

	maxRunes := maxLatinNameRunes
	name, err := person.ParseName(request.Name, maxRunes)
	if err != nil {
		return apierror.As(err).WithField("child.name")
	}
	if name.Script == person.ScriptHan && len([]rune(name.Text)) > maxHanNameRunes {
		return errTooLong("child.name", "幼儿姓名", maxHanNameRunes)
	}
	if parsed.Type == document.ResidentID && name.Script != person.ScriptHan {
		return errHanNameRequired()
	}
	r.Child.Name = name

	switch request.Sex {
	case "M", "F":
		r.Child.Sex = request.Sex
	case "":
		return errRequired("child.sex", "性别")
	default:
		return errInvalidChoice("child.sex", "性别")
	}
	if parsed.Sex != 0 && string(parsed.Sex) != r.Child.Sex {
		return errSexMismatch()
	}

	if request.BirthDate == "" {
		return errRequired("child.birthDate", "出生日期")
	}
	birth, err := parseDate(request.BirthDate)
	if err != nil {
		return errInvalidDate("child.birthDate", "出生日期")
	}
	if !parsed.BirthDate.IsZero() && !parsed.BirthDate.Equal(birth) {
		return errBirthDateMismatch()
	}
	r.Child.BirthDate = birth.Format(time.DateOnly)
	if r.Child.BirthDate < birthFrom || r.Child.BirthDate > birthTo {
		return errOutsideAgeWindow(formatDate(birthFrom), formatDate(birthTo))
	}
	return nil
}

func (r *Registration) checkHukou(request *HukouRequest, c *catalogue.Catalogue) error {
	documentType := r.Child.Document.Type
	if !request.InShanghai {
		province := strings.TrimSpace(request.Province)
		if documentType == document.ResidentID && province == "" {
			return errRequired("child.hukou.province", "户籍所在省份")
		}
		if province != "" {
			normalised, err := person.NormaliseAddress(province, maxProvinceRunes)
			if apiErr := apierror.As(err); apiErr != nil && apiErr.Code == person.CodeAddressTooLong {
				return errTooLong("child.hukou.province", "户籍所在省份", maxProvinceRunes)
			}
			if err != nil {
				return apierror.Invalid("child.hukou.province", "invalid_province", "户籍所在省份无效，请从列表中选择。")
			}
			province = normalised
		}
		if strings.HasPrefix(province, "上海") {
			return errCategory("child.hukou.province", "户籍在上海的幼儿请选择“本市户籍”。")
		}
		if documentType == document.ResidentID && !provinces[province] {
			return apierror.Invalid("child.hukou.province", "invalid_province", "户籍所在省份无效，请从列表中选择。")
		}
		r.Hukou = Hukou{Province: province}
		return nil
	}

	if documentType != document.ResidentID {
		return errCategory("child.hukou.inShanghai", "本市户籍幼儿应持居民身份证号码登记，请核对证件类型或户籍选项。")
	}
	district, street, committee, err := checkDivision("child.hukou", request.DistrictCode, request.StreetCode, request.CommitteeCode, c)
	if err != nil {
		return err
	}
	address, err := person.NormaliseAddress(request.Address, maxAddressRunes)
	if err != nil {
		return apierror.As(err).WithField("child.hukou.address")
	}
	r.Hukou = Hukou{InShanghai: true, District: district, Street: street, Committee: committee, Address: address}
	return nil
}

// provinces are the province-level divisions of the mainland other than
// Shanghai, where a child with a resident ID but no Shanghai hukou has one.
var provinces = map[string]bool{
	"北京市": true, "天津市": true, "河北省": true, "山西省": true, "内蒙古自治区": true, "辽宁省": true,
	"吉林省": true, "黑龙江省": true, "江苏省": true, "浙江省": true, "安徽省": true, "福建省": true,
	"江西省": true, "山东省": true, "河南省": true, "湖北省": true, "湖南省": true, "广东省": true,
	"广西壮族自治区": true, "海南省": true, "重庆市": true, "四川省": true, "贵州省": true, "云南省": true,
	"西藏自治区": true, "陕西省": true, "甘肃省": true, "青海省": true, "宁夏回族自治区": true, "新疆维吾尔自治区": true,
}

func (r *Registration) checkResidence(request *ResidenceRequest, c *catalogue.Catalogue) error {
	district, street, committee, err := checkDivision("residence", request.DistrictCode, request.StreetCode, request.CommitteeCode, c)
	if err != nil {
		return err
	}
	address, err := person.NormaliseAddress(request.Address, maxAddressRunes)
	if err != nil {
		return apierror.As(err).WithField("residence.address")
	}
	if request.AtHukouAddress {
		switch {
		case !r.Hukou.InShanghai:
			return errCategory("residence.atHukouAddress", "只有本市户籍幼儿才能选择人户一致。")
		case r.Hukou.District != district || r.Hukou.Street != street:
			return errCategory("residence.atHukouAddress", "现居住地址与户籍地址不在同一街道（镇），不能选择人户一致。")
		}
	}
	r.Residence = Residence{District: district, Street: street, Committee: committee, Address: address, AtHukouAddress: request.AtHukouAddress}
	return nil
}

// checkDivision checks that district, street and committee exist and nest.
// The committee may be empty only for a street that has none.
func checkDivision(prefix, districtCode, streetCode, committeeCode string, c *catalogue.Catalogue) (string, string, string, error) {
	if districtCode == "" {
		return "", "", "", errRequired(prefix+".districtCode", "所在区")
	}
	if _, ok := c.District(districtCode); !ok {
		return "", "", "", errUnknownCode(prefix+".districtCode", "所选的区")
	}
	if streetCode == "" {
		return "", "", "", errRequired(prefix+".streetCode", "街道（镇）")
	}
	street, ok := c.Street(streetCode)
	if !ok {
		return "", "", "", errUnknownCode(prefix+".streetCode", "所选的街道（镇）")
	}
	if street.DistrictCode != districtCode {
		return "", "", "", errDivisionMismatch(prefix+".streetCode", "所选街道（镇）不属于所选的区，请重新选择。")
	}
	if committeeCode == "" {
		if c.StreetHasCommittees(streetCode) {
			return "", "", "", errRequired(prefix+".committeeCode", "居（村）委")
		}
		return districtCode, streetCode, "", nil
	}
	committee, ok := c.Committee(committeeCode)
	if !ok {
		return "", "", "", errUnknownCode(prefix+".committeeCode", "所选的居（村）委")
	}
	if committee.StreetCode != streetCode {
		return "", "", "", errDivisionMismatch(prefix+".committeeCode", "所选居（村）委不属于所选街道（镇），请重新选择。")
	}
	return districtCode, streetCode, committeeCode, nil
}

func (r *Registration) checkGuardians(requests []GuardianRequest, today time.Time) error {
	if len(requests) == 0 || len(requests) > maxGuardians {
		return errGuardianCount(maxGuardians)
	}
	seenDocuments := map[string]bool{}
	seenRelations := map[string]bool{}
	for i := range requests {
		field := fmt.Sprintf("guardians[%d]", i)
		guardian, err := checkGuardian(&requests[i], today)
		if err != nil {
			return apierror.As(err).WithField(field)
		}
		// Documents compare as their blind indexes do: a passport with its
		// country.
		documentKey := string(document.IndexValue(guardian.DocumentType, guardian.Nationality, guardian.DocumentNumber))
		if documentKey == string(r.Child.Document.IndexValue()) {
			return apierror.Invalid(field+".document.number", "guardian_is_child", "监护人的证件号码与幼儿的相同，请填写监护人本人的证件号码。")
		}
		if seenDocuments[documentKey] {
			return errDuplicateGuardian(field + ".document.number")
		}
		if err := checkGuardianAge(guardian.birthDate, r.Child.BirthDate); err != nil {
			return err.WithField(field + ".document.number")
		}
		seenDocuments[documentKey] = true
		if (guardian.Relation == "father" || guardian.Relation == "mother") && seenRelations[guardian.Relation] {
			return errGuardianRelation(field + ".relation")
		}
		seenRelations[guardian.Relation] = true
		r.Guardians = append(r.Guardians, guardian)
	}
	return nil
}

// minGuardianAgeYears is how much older than the child a guardian must be
// by the birth date in the guardian's document.
const minGuardianAgeYears = 16

// checkGuardianAge rejects a guardian whose document says they were born
// less than minGuardianAgeYears before the child, which can only be a typing
// mistake in one of the two numbers. A document without a birth date
// (passports, permits) is not checked.
func checkGuardianAge(guardianBirth time.Time, childBirthDate string) *apierror.Error {
	childBirth, err := time.Parse(time.DateOnly, childBirthDate)
	if guardianBirth.IsZero() || err != nil {
		return nil
	}
	if guardianBirth.AddDate(minGuardianAgeYears, 0, 0).After(childBirth) {
		return apierror.Invalid("", "guardian_too_young",
			fmt.Sprintf("按证件号码，监护人出生日期与幼儿相差不足 %d 年，请核对监护人的证件号码。", minGuardianAgeYears))
	}
	return nil
}

func checkGuardian(request *GuardianRequest, today time.Time) (Guardian, error) {
	var guardian Guardian
	switch {
	case request.Relation == "":
		return guardian, errRequired("relation", "与幼儿关系")
	case !guardianRelations[request.Relation]:
		return guardian, errInvalidChoice("relation", "与幼儿关系")
	}
	guardian.Relation = request.Relation

	name, err := person.ParseName(request.Name, maxLatinNameRunes)
	if err != nil {
		return guardian, apierror.As(err).WithField("name")
	}
	guardian.Name = name.Text

	phone, err := person.NormalisePhone(request.Phone)
	if err != nil {
		return guardian, apierror.As(err).WithField("phone")
	}
	guardian.Phone = phone

	documentType, err := document.ParseType(request.Document.Type)
	if err != nil {
		return guardian, apierror.As(err).WithField("document.type")
	}
	if documentType == document.None {
		return guardian, errInvalidChoice("document.type", "监护人证件类型")
	}
	parsed, err := document.Parse(documentType, request.Document.Number, request.Document.Nationality, today)
	if err != nil {
		return guardian, apierror.As(err).WithField("document." + documentErrorField(err))
	}
	guardian.DocumentType, guardian.DocumentNumber, guardian.Nationality = parsed.Type, parsed.Number, parsed.Nationality
	guardian.birthDate = parsed.BirthDate

	if request.HukouInShanghai && parsed.Type != document.ResidentID {
		return guardian, errCategory("hukouInShanghai", "本市户籍的监护人应持居民身份证，请核对证件类型。")
	}
	guardian.HukouInShanghai = request.HukouInShanghai

	if proof := request.ShanghaiResidence; proof != nil && proof.Type != "" {
		if request.HukouInShanghai {
			return guardian, errCategory("shanghaiResidence.type", "本市户籍的监护人不需要填写居住证件，请核对。")
		}
		if !residenceDocuments[proof.Type] {
			return guardian, errInvalidChoice("shanghaiResidence.type", "居住证件类型")
		}
		number := document.NormaliseNumber(proof.Number)
		if len(number) < 4 || len(number) > 32 || !isAlphanumeric(number) {
			return guardian, errResidenceNumber("shanghaiResidence.number")
		}
		if proof.PointsQualified && proof.Type != enrolment.ResidencePermit {
			return guardian, errPointsWithoutPermit("shanghaiResidence.pointsQualified")
		}
		guardian.ShanghaiResidence = &ResidenceProof{Type: proof.Type, Number: number, PointsQualified: proof.PointsQualified}
	}
	return guardian, nil
}

func isAlphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (r *Registration) checkCertificates(requests []CertificateRequest) error {
	if len(requests) > maxCertificates {
		return errTooMany("certificates", "证照", maxCertificates)
	}
	for i, certificate := range requests {
		field := fmt.Sprintf("certificates[%d]", i)
		if !certificateTypes[certificate.Type] {
			return errInvalidChoice(field+".type", "证照类型")
		}
		switch certificate.Source {
		case "prefill":
			// The token is opened by the submit service, which holds the keys.
			if certificate.PrefillToken == "" || len(certificate.PrefillToken) > maxPrefillTokenBytes {
				return apierror.Invalid(field+".prefillToken", "invalid_prefill_token", "电子证照调取结果无效，请重新调取。")
			}
			certificate.FileID = ""
		case "upload":
			if !IsFileID(certificate.FileID) {
				return errFileID(field + ".fileId")
			}
			certificate.PrefillToken = ""
		default:
			return errInvalidChoice(field+".source", "证照来源")
		}
		r.Certificates = append(r.Certificates, certificate)
	}
	return nil
}

// IsFileID reports whether id has the form of an uploaded file's ID: 32
// lower-case hexadecimal digits.
func IsFileID(id string) bool { return upload.ValidID(id) }

func (r *Registration) householdFacts() enrolment.HouseholdFacts {
	facts := enrolment.HouseholdFacts{
		ChildDocumentType: string(r.Child.Document.Type),
		HukouInShanghai:   r.Hukou.InShanghai,
		HukouDistrict:     r.Hukou.District,
		ResidenceDistrict: r.Residence.District,
		HukouAtResidence:  r.Residence.AtHukouAddress,
	}
	// The parents' documents decide the category (父母一方为本市户籍, 居住证
	// and so on); a grandparent's or other guardian's do not. The strongest
	// residence document wins: an overseas talent permit, then a
	// points-qualified residence permit, a residence permit, a residence
	// registration.
	rank := map[string]int{enrolment.ResidenceRegistration: 1, enrolment.ResidencePermit: 2, enrolment.OverseasTalentPermit: 4}
	best := 0
	for _, guardian := range r.Guardians {
		if guardian.Relation != "father" && guardian.Relation != "mother" {
			continue
		}
		if guardian.HukouInShanghai {
			facts.GuardianShanghaiHukou = true
		}
		proof := guardian.ShanghaiResidence
		if proof == nil {
			continue
		}
		score := rank[proof.Type]
		if proof.PointsQualified {
			score = 3
		}
		if score > best {
			best = score
			facts.GuardianResidenceDocument = proof.Type
			facts.GuardianPointsQualified = proof.PointsQualified
		}
	}
	return facts
}
