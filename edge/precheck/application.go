package precheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/matching"
	"github.com/sh-preschool/preschool/shared/snapshot"
	"github.com/sh-preschool/preschool/shared/upload"
)

// RegistrationFacts are the facts of an accepted registration that the edge
// keeps in Redis, enough to check an application without the database.
type RegistrationFacts struct {
	Number             string
	Year               int
	Status             string
	ChildIndex         []byte
	Household          enrolment.HouseholdFacts
	HukouStreet        string
	HukouCommittee     string
	ResidenceStreet    string
	ResidenceCommittee string
	// ResidenceAddress and HukouAddress are the detailed addresses, empty
	// for receipts that do not carry them.
	ResidenceAddress string
	HukouAddress     string
}

// Options are what a child may apply for in one district.
type Options struct {
	Category snapshot.Category
	Entry    snapshot.Entry
	OpensAt  time.Time
	ClosesAt time.Time
	Open     bool
	Campuses []int64
}

// Application is a validated application.
type Application struct {
	Year          int
	DistrictCode  string
	EntryID       int64
	CategoryCode  string
	CampusChoices []int64
	SchemaVersion int
	Extra         map[string]any
	Certificates  []CertificateRequest
}

// ApplicationOptions returns the entry, window and matched campuses for the
// child of facts in district, or an *apierror.Error when the child may not
// apply there.
func ApplicationOptions(facts *RegistrationFacts, districtCode string, c *catalogue.Catalogue, now time.Time) (*Options, error) {
	if districtCode == "" {
		return nil, errRequired("districtCode", "报名区")
	}
	if _, ok := c.District(districtCode); !ok {
		return nil, errUnknownCode("districtCode", "所选的区")
	}
	switch {
	case enrolment.NotStored(facts.Status):
		return nil, apierror.Invalid("registrationNumber", "registration_not_valid", "该登记未成功入库，不能报名。请在“我的办理”中查看该登记的说明，按提示重新登记，或联系所在区招生服务点。")
	case facts.Status == enrolment.StatusDeleted:
		return nil, apierror.Invalid("registrationNumber", "registration_deleted", "该登记已按区招生部门的申请删除，不能报名。如需报名，请重新进行信息登记。")
	}

	candidates := facts.Household.CandidateCategories(districtCode)
	if len(candidates) == 0 {
		return nil, apierror.Invalid("districtCode", "district_not_eligible", "根据户籍和居住地址，该幼儿不能在所选的区报名，请选择户籍所在区或居住所在区。")
	}
	var entry snapshot.Entry
	var found bool
	for _, category := range candidates {
		if entry, found = c.Entry(facts.Year, districtCode, category); found {
			break
		}
	}
	if !found {
		category, _ := c.Category(candidates[0])
		return nil, apierror.Invalid("districtCode", "no_entry_for_category", "所选的区未开放“"+category.Name+"”报名入口，请咨询该区招生服务点。")
	}
	category, _ := c.Category(entry.CategoryCode)
	opens, closes := c.EntryWindow(entry)

	// A child whose hukou is in the district but who lives elsewhere is
	// matched by the hukou address; every other child by the home address.
	street, committee, text := facts.ResidenceStreet, facts.ResidenceCommittee, facts.ResidenceAddress
	if facts.Household.HukouDistrict == districtCode && facts.Household.ResidenceDistrict != districtCode {
		street, committee, text = facts.HukouStreet, facts.HukouCommittee, facts.HukouAddress
	}
	query := matching.Query{
		Year: facts.Year, DistrictCode: districtCode, StreetCode: street, CommitteeCode: committee,
		Mode: entry.MatchingMode, Audience: c.EntryAudience(entry),
	}
	// Only modes 2 and 3 read the detailed address, so the other modes skip
	// parsing it.
	// NOTE: in mode 3 the application page offers no compound to choose, so
	// a compound matches only when the registered address contains its name.
	if text != "" && (entry.MatchingMode == matching.ModeRoadRange || entry.MatchingMode == matching.ModeCompound) {
		query.AddressText = address.Normalise(text)
		if parsed, err := address.Parse(query.AddressText); err == nil {
			query.Address = &parsed
		}
	}
	return &Options{
		Category: category,
		Entry:    entry,
		OpensAt:  opens,
		ClosesAt: closes,
		Open:     !now.Before(opens) && now.Before(closes),
		Campuses: c.Match(&query, nil),
	}, nil
}

// CheckApplication validates an application of the child of facts.
func CheckApplication(request *ApplicationRequest, facts *RegistrationFacts, c *catalogue.Catalogue, now time.Time) (*Application, error) {
	if request.DistrictCode == "" {
		return nil, errRequired("districtCode", "报名区")
	}
	options, err := ApplicationOptions(facts, request.DistrictCode, c, now)
	if err != nil {
		return nil, err
	}
	if _, known := c.Category(request.CategoryCode); !known && request.CategoryCode != "" {
		return nil, apierror.Invalid("categoryCode", "unknown_category",
			"所选报名入口类别不存在。该幼儿应选择“"+options.Category.Name+"”，请刷新页面后重新选择。")
	}
	if request.CategoryCode != options.Entry.CategoryCode {
		return nil, errCategory("categoryCode", "所选报名入口与幼儿的户籍和居住情况不符，应为“"+options.Category.Name+"”。")
	}
	if !options.Open {
		if now.Before(options.OpensAt) {
			return nil, apierror.New(403, "application_not_open", "该区报名尚未开始，开始时间为 "+formatTime(options.OpensAt)+"。")
		}
		return nil, apierror.New(403, "application_closed", "该区报名已于 "+formatTime(options.ClosesAt)+" 结束。")
	}

	if len(request.CampusChoices) == 0 {
		return nil, errRequired("campusChoices", "志愿幼儿园")
	}
	if len(request.CampusChoices) > options.Entry.MaxChoices {
		return nil, errTooMany("campusChoices", "志愿幼儿园", options.Entry.MaxChoices)
	}
	matched := make(map[int64]bool, len(options.Campuses))
	for _, id := range options.Campuses {
		matched[id] = true
	}
	seen := map[int64]bool{}
	for _, id := range request.CampusChoices {
		if seen[id] {
			return nil, apierror.Invalid("campusChoices", "duplicate_choice", "同一所幼儿园只能填报一次。")
		}
		seen[id] = true
		if !matched[id] {
			return nil, apierror.Invalid("campusChoices", "campus_not_matched", "所选幼儿园不在该地址的对口范围内，请从列表中选择。")
		}
	}

	form, ok := c.EntryForm(enrolment.KindApplication, request.DistrictCode, options.Entry.CategoryCode)
	if !ok {
		return nil, apierror.Internal
	}
	extra, err := checkExtra(form, request.Extra, request.SchemaVersion)
	if err != nil {
		return nil, err
	}
	certificates, err := checkApplicationCertificates(form, request.Certificates)
	if err != nil {
		return nil, err
	}
	return &Application{
		Year:          facts.Year,
		DistrictCode:  request.DistrictCode,
		EntryID:       options.Entry.ID,
		CategoryCode:  options.Entry.CategoryCode,
		CampusChoices: append([]int64(nil), request.CampusChoices...),
		SchemaVersion: form.Version,
		Extra:         extra,
		Certificates:  certificates,
	}, nil
}

// checkApplicationCertificates checks the uploaded files against the
// certificates of the entry's form: a known code, at most its number of
// files, each file once, and every required certificate present. Whether
// the parent uploaded each file, and its type and size, are checked by the
// submit service, which can see the uploads (see CheckCertificateFiles).
func checkApplicationCertificates(form *catalogue.Form, requests []CertificateRequest) ([]CertificateRequest, error) {
	maxFiles := 0
	for _, certificate := range form.Certificates {
		maxFiles += certificate.MaxCount
	}
	// A form without certificates rejects the first file as unknown below.
	if len(requests) > maxFiles && maxFiles > 0 {
		return nil, apierror.Invalid("certificates", "too_many_items", fmt.Sprintf("证照文件最多上传 %d 个，请删除多余的文件。", maxFiles))
	}
	files := map[string]int{}
	seen := map[string]bool{}
	var checked []CertificateRequest
	for i, request := range requests {
		field := fmt.Sprintf("certificates[%d]", i)
		certificate, ok := form.Certificate(request.Type)
		if !ok {
			return nil, apierror.Invalid(field+".type", "unknown_certificate", "该报名表不需要此证照，请刷新页面后重新上传。")
		}
		if request.Source != "upload" {
			return nil, errInvalidChoice(field+".source", "证照来源")
		}
		if !IsFileID(request.FileID) {
			return nil, errFileID(field + ".fileId")
		}
		if seen[request.FileID] {
			return nil, apierror.Invalid(field+".fileId", "duplicate_file", "同一个文件只能上传一次，请删除重复的文件。")
		}
		seen[request.FileID] = true
		files[request.Type]++
		if files[request.Type] > certificate.MaxCount {
			return nil, apierror.Invalid(field, "too_many_items",
				fmt.Sprintf("%s最多上传 %d 个文件，请删除多余的文件。", certificate.Name, certificate.MaxCount))
		}
		checked = append(checked, CertificateRequest{Type: request.Type, Source: "upload", FileID: request.FileID})
	}
	for _, certificate := range form.Certificates {
		if certificate.Required && files[certificate.Code] == 0 {
			return nil, apierror.Invalid("certificates."+certificate.Code, "missing_certificate", "请上传"+certificate.Name+"。")
		}
	}
	return checked, nil
}

// CheckCertificateFiles checks each file of checked certificates against
// its certificate's accepted types and size limit on form, with the type
// and size that info returns for a file ID.
//
// NOTE: a file uploaded before the edge recorded each file's type and size
// has no info, and passes unchecked. The upload route took only JPG, PNG
// and PDF files of up to 5 MB then too.
func CheckCertificateFiles(form *catalogue.Form, certificates []CertificateRequest, info func(fileID string) (upload.Info, bool)) error {
	for i, file := range certificates {
		certificate, ok := form.Certificate(file.Type)
		if !ok {
			continue // checkApplicationCertificates has rejected it
		}
		described, ok := info(file.FileID)
		if !ok {
			continue
		}
		field := fmt.Sprintf("certificates[%d].fileId", i)
		if !slices.Contains(certificate.AcceptedTypes, described.TypeName()) {
			names := make([]string, len(certificate.AcceptedTypes))
			for j, name := range certificate.AcceptedTypes {
				names[j] = strings.ToUpper(name)
			}
			return apierror.Invalid(field, "file_type_not_accepted",
				certificate.Name+"只能上传 "+strings.Join(names, "、")+" 格式的文件，请重新上传。")
		}
		if described.Size > certificate.MaxSizeKB*1024 {
			return apierror.Invalid(field, "file_too_large",
				certificate.Name+"的单个文件不能超过 "+sizeLimitText(certificate.MaxSizeKB)+"，请压缩后重新上传。")
		}
	}
	return nil
}

// sizeLimitText returns a size limit given in KB as people read it: "2 MB"
// from 1024 KB up, else "500 KB".
func sizeLimitText(sizeKB int) string {
	if sizeKB >= 1024 {
		return strconv.Itoa((sizeKB+512)/1024) + " MB"
	}
	return strconv.Itoa(sizeKB) + " KB"
}
