// Package submit accepts registrations and applications on the edge. It
// pre-checks them, seals personal data, claims the child's uniqueness key
// and appends the record to the submissions stream in one Redis script, and
// serves status queries from Redis. It never calls the database or an
// upstream service.
package submit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/upload"
)

// Errors of the enrolment path, beyond the pre-check's field errors.
var (
	ErrNoCatalogue = apierror.New(http.StatusServiceUnavailable, "not_ready", "系统正在启动，请稍后再试。")
	ErrUnavailable = apierror.New(http.StatusServiceUnavailable, "temporarily_unavailable",
		"当前访问人数较多，暂时无法确认提交结果。请稍后原样重新提交，或在“我的办理”中查看；同一份登记不会重复提交。")
	// ErrLookupUnavailable is ErrUnavailable for the pages that only read
	// receipts, where nothing was submitted.
	ErrLookupUnavailable = apierror.New(http.StatusServiceUnavailable, "temporarily_unavailable",
		"暂时无法查询办理进度，请稍后再试。已提交的登记和报名不受影响。")
	errNotOwner = apierror.New(http.StatusNotFound, "receipt_not_found", "未找到该回执编号，请核对后重试。")
)

// lookupError replaces ErrUnavailable's message, which is about a
// submission, with ErrLookupUnavailable's.
func lookupError(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrLookupUnavailable, err)
	}
	return err
}

// Service accepts submissions. Its zero value is not usable; fill every
// field.
type Service struct {
	Redis     rueidis.Client
	Keys      enrolment.Keys
	Keyring   *crypto.Keyring
	Catalogue *catalogue.Store
	Now       func() time.Time
	// ReceiptTTL bounds how long claims, receipts and owner sets stay in
	// Redis; it must outlast an enrolment season.
	ReceiptTTL time.Duration
	// Timeout bounds each Redis call, because fasthttp gives handlers no
	// deadline of their own.
	Timeout time.Duration
	// UploadExists reports whether a parent uploaded a file; nil accepts
	// every well-formed file ID.
	UploadExists func(ownerIndex []byte, fileID string) bool
	// UploadInfo returns the type and size of a parent's uploaded file, for
	// the limits of an application form's certificates; nil skips them.
	UploadInfo func(ownerIndex []byte, fileID string) (upload.Info, bool)

	// plaintextForBenchmark stores personal values unencrypted. Only the
	// sealing-cost benchmark sets it, through a function of a _test.go file;
	// an edge binary does so only when built with the benchplaintext tag
	// (PlaintextBuild).
	plaintextForBenchmark bool
}

// Receipt is the result of an accepted submission.
type Receipt struct {
	Number string
	// Duplicate is true when the same submission was accepted before and
	// Number is that earlier receipt.
	Duplicate bool
}

func (s *Service) catalogue() (*catalogue.Catalogue, error) {
	c := s.Catalogue.Current()
	if c == nil {
		return nil, ErrNoCatalogue
	}
	return c, nil
}

// OwnerIndex returns the blind index that stands for a parent in records
// and Redis keys, so neither holds the identity service's subject.
func (s *Service) OwnerIndex(subject string) []byte {
	return s.Keyring.Index("owner", []byte(subject))
}

// Register pre-checks and accepts a registration for the parent signed in
// as subject. It returns a field *apierror.Error for invalid input, a 409
// already_registered error carrying the first number for another
// registration of the same child, and ErrUnavailable when Redis fails (the
// registration may then have been accepted; a retry returns its receipt).
func (s *Service) Register(ctx context.Context, subject string, request *precheck.RegistrationRequest) (Receipt, error) {
	c, err := s.catalogue()
	if err != nil {
		return Receipt{}, err
	}
	now := s.Now()
	registration, err := precheck.CheckRegistration(request, c, now)
	if err != nil {
		return Receipt{}, err
	}

	owner := s.OwnerIndex(subject)
	// The pre-check above reads the request alone. The upload and prefill
	// checks read what the parent uploaded or fetched, which a revoked
	// session must not learn about.
	if len(registration.Certificates) > 0 {
		if err := s.checkRevoked(ctx); err != nil {
			return Receipt{}, err
		}
	}
	if err := s.checkUploads(registration.Certificates, owner); err != nil {
		return Receipt{}, err
	}
	if err := s.openPrefillTokens(registration, owner, now); err != nil {
		return Receipt{}, err
	}
	record, err := s.sealRegistration(registration, owner, now)
	if err != nil {
		return Receipt{}, err
	}
	body, err := enrolment.EncodeRecord(record)
	if err != nil {
		return Receipt{}, err
	}
	hash := hex.EncodeToString(record.PayloadHash)
	form, _ := c.Form(enrolment.KindRegistration) // CheckRegistration has found it

	args := []string{hash, strconv.Itoa(registration.Year), s.Keys.ReceiptPrefix(), s.Keys.OwnerReceipts(owner),
		string(body), now.UTC().Format(time.RFC3339Nano), hex.EncodeToString(owner), s.ttlSeconds(),
		enrolment.FieldFacts, enrolment.PackRegistrationFacts(record), enrolment.FieldPrintLayoutID, form.PrintLayoutID}
	keys := []string{s.Keys.RegistrationClaim(registration.Year, record.ChildIndex), s.Keys.RegistrationSequence(registration.Year), s.Keys.Stream(),
		s.Keys.PrintLayout(form.PrintLayoutID)}
	if key := api.RevocationKey(ctx); key != "" {
		keys = append(keys, key)
	}

	outcome, claim, err := runClaimScript(ctx, s.Redis, registerScript, keys, args, s.Timeout)
	if err == nil && outcome == claimNoLayout {
		// The first registration with this schema version since Redis
		// lost or never had its layout.
		if err = s.storePrintLayout(ctx, form); err == nil {
			outcome, claim, err = runClaimScript(ctx, s.Redis, registerScript, keys, args, s.Timeout)
		}
		if err == nil && outcome == claimNoLayout {
			err = errors.New("the print layout was gone again right after it was stored")
		}
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if outcome == claimRevoked {
		return Receipt{}, apierror.ErrNotSignedIn
	}
	if outcome == claimCreated {
		return Receipt{Number: claim}, nil
	}
	parts := strings.SplitN(claim, "|", 3)
	number := parts[0]
	if len(parts) >= 2 && parts[1] == hash {
		return Receipt{Number: number, Duplicate: true}, nil
	}
	// Only the family that registered the child learns the number: anyone
	// else typing the same document is told no more than that it is taken.
	if len(parts) == 3 && parts[2] != hex.EncodeToString(owner) {
		return Receipt{}, apierror.New(http.StatusConflict, "already_registered_elsewhere", enrolment.RegisteredElsewhereNote)
	}
	return Receipt{}, apierror.New(http.StatusConflict, "already_registered",
		"该幼儿本年度已完成信息登记，登记编号为 "+number+"。每名幼儿每年只能登记一次，如需更正请联系所在区招生服务点。").
		WithDetail("registrationNumber", number)
}

// Apply pre-checks and accepts an application. Besides Register's errors it
// returns 404 receipt_not_found when the registration is not the parent's,
// and 409 already_applied with the live application's number.
func (s *Service) Apply(ctx context.Context, subject string, request *precheck.ApplicationRequest) (Receipt, error) {
	c, err := s.catalogue()
	if err != nil {
		return Receipt{}, err
	}
	now := s.Now()
	owner := s.OwnerIndex(subject)
	facts, err := s.RegistrationFacts(ctx, owner, request.RegistrationNumber)
	if err != nil {
		return Receipt{}, err
	}
	application, err := precheck.CheckApplication(request, facts, c, now)
	if err != nil {
		return Receipt{}, err
	}
	if err := s.checkUploads(application.Certificates, owner); err != nil {
		return Receipt{}, err
	}
	if s.UploadInfo != nil && len(application.Certificates) > 0 {
		form, _ := c.EntryForm(enrolment.KindApplication, application.DistrictCode, application.CategoryCode) // CheckApplication has found it
		info := func(fileID string) (upload.Info, bool) { return s.UploadInfo(owner, fileID) }
		if err := precheck.CheckCertificateFiles(form, application.Certificates, info); err != nil {
			return Receipt{}, err
		}
	}

	record, err := s.sealApplication(application, facts, owner, now)
	if err != nil {
		return Receipt{}, err
	}
	body, err := enrolment.EncodeRecord(record)
	if err != nil {
		return Receipt{}, err
	}
	hash := hex.EncodeToString(record.PayloadHash)
	args := []string{hash, strconv.Itoa(application.Year), s.Keys.ReceiptPrefix(), s.Keys.OwnerReceipts(owner),
		string(body), now.UTC().Format(time.RFC3339Nano), hex.EncodeToString(owner), s.ttlSeconds(), application.DistrictCode,
		enrolment.FieldYear, strconv.Itoa(application.Year), enrolment.FieldRegistration, facts.Number,
		enrolment.FieldDistrict, application.DistrictCode, enrolment.FieldCategory, application.CategoryCode,
		enrolment.FieldChoices, enrolment.JoinCampusIDs(application.CampusChoices)}
	keys := []string{s.Keys.ApplicationClaim(application.Year, facts.ChildIndex),
		s.Keys.ApplicationSequence(application.Year, application.DistrictCode), s.Keys.Stream()}
	if key := api.RevocationKey(ctx); key != "" {
		keys = append(keys, key)
	}

	outcome, claim, err := runClaimScript(ctx, s.Redis, applyScript, keys, args, s.Timeout)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if outcome == claimRevoked {
		return Receipt{}, apierror.ErrNotSignedIn
	}
	if outcome == claimCreated {
		return Receipt{Number: claim}, nil
	}
	parts := strings.SplitN(claim, "|", 3)
	number := parts[0]
	if len(parts) == 3 && parts[1] == hash {
		return Receipt{Number: number, Duplicate: true}, nil
	}
	conflict := apierror.New(http.StatusConflict, "already_applied",
		"该幼儿本年度已提交报名，报名编号为 "+number+"。如需修改，请等待区招生部门退回后在报名期内重新提交。").
		WithDetail("applicationNumber", number)
	if len(parts) == 3 && parts[2] != application.DistrictCode {
		districtName := parts[2]
		if district, ok := c.District(parts[2]); ok {
			districtName = district.Name
		}
		conflict = apierror.New(http.StatusConflict, "already_applied",
			"该幼儿本年度已在"+districtName+"报名（报名编号 "+number+"），一名幼儿只能在一个区报名。").
			WithDetail("applicationNumber", number).WithDetail("districtCode", parts[2])
	}
	return Receipt{}, conflict
}

// checkUploads rejects an uploaded certificate that the parent did not
// upload, so a submission cannot point at someone else's file.
func (s *Service) checkUploads(certificates []precheck.CertificateRequest, owner []byte) error {
	if s.UploadExists == nil {
		return nil
	}
	for i, certificate := range certificates {
		if certificate.Source == "upload" && !s.UploadExists(owner, certificate.FileID) {
			return apierror.Invalid(fmt.Sprintf("certificates[%d].fileId", i), "invalid_file_id", "上传的证照文件不存在或已失效，请重新上传。")
		}
	}
	return nil
}

// guardianHeld are the certificate types a guardian holds rather than the
// child.
var guardianHeld = map[string]bool{"residence_permit": true, "property_certificate": true, "tenancy_registration": true}

// openPrefillTokens replaces each fetched certificate's token with the
// certificate it seals, and rejects a token that another parent fetched, has
// expired, names another certificate type, or belongs to someone who is
// neither the child nor a guardian in this registration.
func (s *Service) openPrefillTokens(registration *precheck.Registration, owner []byte, now time.Time) error {
	child := string(registration.Child.Document.Type) + ":" + registration.Child.Document.Number
	guardians := map[string]bool{}
	for _, guardian := range registration.Guardians {
		guardians[string(guardian.DocumentType)+":"+guardian.DocumentNumber] = true
	}
	for i := range registration.Certificates {
		certificate := &registration.Certificates[i]
		if certificate.Source != "prefill" {
			continue
		}
		field := fmt.Sprintf("certificates[%d].prefillToken", i)
		fetched, err := prefill.OpenToken(s.Keyring, owner, certificate.PrefillToken, now)
		if err != nil || fetched.Type != certificate.Type {
			return apierror.Invalid(field, "invalid_prefill_token", "电子证照调取结果无效或已过期，请重新调取。")
		}
		// A birth certificate and a household register are the child's; a
		// residence permit, a property or tenancy certificate a guardian's.
		holderIsRight := fetched.Holder == child
		if guardianHeld[fetched.Type] {
			holderIsRight = guardians[fetched.Holder]
		}
		if !holderIsRight {
			return apierror.Invalid(field, "certificate_holder_mismatch", "该电子证照的持证人与证照类型不符：出生医学证明和户口簿应为幼儿本人的，居住证、不动产权证书和租赁登记备案证明应为监护人的。请重新调取。")
		}
		certificate.Number, certificate.Holder, certificate.PrefillToken = fetched.Number, fetched.Holder, ""
	}
	return nil
}

// runClaimScript runs a claim script and returns its outcome (claimTaken,
// claimCreated, claimNoLayout or claimRevoked) and value. When the call
// times out, the script may have run anyway, so it runs once more. The
// claim makes the second run return the first one's receipt (same payload)
// instead of a new one, so the parent gets a receipt, not a doubtful error.
func runClaimScript(ctx context.Context, client rueidis.Client, script *rueidis.Lua, keys, args []string, timeout time.Duration) (int64, string, error) {
	outcome, value, err := runClaimScriptOnce(ctx, client, script, keys, args, timeout)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		outcome, value, err = runClaimScriptOnce(ctx, client, script, keys, args, timeout)
	}
	return outcome, value, err
}

func runClaimScriptOnce(ctx context.Context, client rueidis.Client, script *rueidis.Lua, keys, args []string, timeout time.Duration) (int64, string, error) {
	ctx, cancel := api.WithTimeout(ctx, timeout)
	defer cancel()
	result, err := script.Exec(ctx, client, keys, args).ToArray()
	if err != nil {
		return 0, "", err
	}
	if len(result) != 2 {
		return 0, "", fmt.Errorf("claim script returned %d values, want 2", len(result))
	}
	outcome, err := result[0].AsInt64()
	if err != nil {
		return 0, "", err
	}
	if outcome < claimTaken || outcome > claimRevoked {
		return 0, "", fmt.Errorf("claim script returned outcome %d", outcome)
	}
	value, err := result[1].ToString()
	if err != nil {
		return 0, "", err
	}
	return outcome, value, nil
}

// storePrintLayout stores a form's print layout under its ID for as long as
// a receipt lives. Every edge stores the same bytes under the same key, so
// concurrent stores agree.
func (s *Service) storePrintLayout(ctx context.Context, form *catalogue.Form) error {
	ctx, cancel := api.WithTimeout(ctx, s.Timeout)
	defer cancel()
	command := s.Redis.B().Set().Key(s.Keys.PrintLayout(form.PrintLayoutID)).Value(rueidis.BinaryString(form.PrintLayout)).
		ExSeconds(int64(s.ReceiptTTL / time.Second)).Build()
	if err := s.Redis.Do(ctx, command).Error(); err != nil {
		return fmt.Errorf("store the print layout %s: %w", form.PrintLayoutID, err)
	}
	return nil
}

func (s *Service) ttlSeconds() string {
	return strconv.FormatInt(int64(s.ReceiptTTL/time.Second), 10)
}

// packedFacts is the unpacked form of a receipt's facts field.
type packedFacts []string

// packedFactsCount is the number of packed facts. Receipts written before
// the receipt kept the record have packedFactsWithAddresses: the same facts
// followed by the two sealed addresses in hex.
const (
	packedFactsCount         = 14
	packedFactsWithAddresses = 16
)

func unpackFacts(value string) (packedFacts, bool) {
	facts := strings.Split(value, enrolment.FactsSeparator)
	return facts, len(facts) == packedFactsCount || len(facts) == packedFactsWithAddresses
}

func (f packedFacts) year() int                  { year, _ := strconv.Atoi(f[0]); return year }
func (f packedFacts) childIndex() string         { return f[1] }
func (f packedFacts) documentType() string       { return f[2] }
func (f packedFacts) hukouInShanghai() bool      { return f[3] == "1" }
func (f packedFacts) hukouDistrict() string      { return f[4] }
func (f packedFacts) hukouStreet() string        { return f[5] }
func (f packedFacts) hukouCommittee() string     { return f[6] }
func (f packedFacts) residenceDistrict() string  { return f[7] }
func (f packedFacts) residenceStreet() string    { return f[8] }
func (f packedFacts) residenceCommittee() string { return f[9] }
func (f packedFacts) atHukouAddress() bool       { return f[10] == "1" }
func (f packedFacts) parentHukou() bool          { return f[11] == "1" }
func (f packedFacts) residenceDocument() string  { return f[12] }
func (f packedFacts) pointsQualified() bool      { return f[13] == "1" }

// sealedAddresses returns a registration's sealed residence and hukou
// addresses from its receipt: from the record, or from the packed facts of
// a receipt written before the receipt kept the record. A receipt with
// neither has no addresses.
func sealedAddresses(number string, fields map[string]string, facts packedFacts) (residence, hukou []byte) {
	if len(facts) == packedFactsWithAddresses {
		residence, _ = hex.DecodeString(facts[14])
		hukou, _ = hex.DecodeString(facts[15])
		return residence, hukou
	}
	body, ok := fields[enrolment.FieldRecord]
	if !ok {
		return nil, nil
	}
	record, err := enrolment.DecodeRegistration(number, []byte(body))
	if err != nil {
		slog.Error("registration record in the receipt does not decode; matching by detailed address skips it",
			"registration_number", number, "error", err)
		return nil, nil
	}
	return record.SealedResidenceAddr, record.SealedHukouAddress
}

func flag(value bool) string {
	if value {
		return "1"
	}
	return "0"
}

// RegistrationFacts reads the facts of a registration from Redis. It returns
// a 404 error when the number is malformed, unknown or not the owner's.
func (s *Service) RegistrationFacts(ctx context.Context, owner []byte, number string) (*precheck.RegistrationFacts, error) {
	if err := enrolment.CheckNumber("registrationNumber", "invalid_registration_number", number, enrolment.KindRegistration); err != nil {
		return nil, err
	}
	fields, err := s.receipt(ctx, owner, number)
	if err != nil {
		return nil, err
	}
	facts, ok := unpackFacts(fields[enrolment.FieldFacts])
	if !ok {
		return nil, errNotOwner
	}
	childIndex, err := hex.DecodeString(facts.childIndex())
	if err != nil || len(childIndex) == 0 {
		return nil, errNotOwner
	}
	residenceAddress, hukouAddress := s.openAddresses(number, fields, facts)
	return &precheck.RegistrationFacts{
		Number:     number,
		Year:       facts.year(),
		Status:     fields[enrolment.FieldStatus],
		ChildIndex: childIndex,
		Household: enrolment.HouseholdFacts{
			ChildDocumentType:         facts.documentType(),
			HukouInShanghai:           facts.hukouInShanghai(),
			HukouDistrict:             facts.hukouDistrict(),
			ResidenceDistrict:         facts.residenceDistrict(),
			HukouAtResidence:          facts.atHukouAddress(),
			GuardianShanghaiHukou:     facts.parentHukou(),
			GuardianResidenceDocument: facts.residenceDocument(),
			GuardianPointsQualified:   facts.pointsQualified(),
		},
		HukouStreet:        facts.hukouStreet(),
		HukouCommittee:     facts.hukouCommittee(),
		ResidenceStreet:    facts.residenceStreet(),
		ResidenceCommittee: facts.residenceCommittee(),
		ResidenceAddress:   residenceAddress,
		HukouAddress:       hukouAddress,
	}, nil
}

// openAddresses opens the sealed addresses of a receipt. An address that
// does not open is logged and left empty, so that matching by detailed
// address finds no campus for it, but the other modes still work.
func (s *Service) openAddresses(number string, fields map[string]string, facts packedFacts) (residence, hukou string) {
	sealedResidence, sealedHukou := sealedAddresses(number, fields, facts)
	open := func(sealed []byte, context string) string {
		if len(sealed) == 0 {
			return ""
		}
		plain, err := s.Keyring.Open(sealed, context)
		if err != nil {
			slog.Error("registration address in the receipt does not open; matching by detailed address skips it",
				"registration_number", number, "context", context, "error", err)
			return ""
		}
		return string(plain)
	}
	return open(sealedResidence, enrolment.ContextResidenceAddress), open(sealedHukou, enrolment.ContextHukouAddress)
}

// receipt returns the fields of a receipt owned by owner, or errNotOwner.
func (s *Service) receipt(ctx context.Context, owner []byte, number string) (map[string]string, error) {
	ctx, cancel := api.WithTimeout(ctx, s.Timeout)
	defer cancel()
	commands := rueidis.Commands{
		s.Redis.B().Hgetall().Key(s.Keys.Receipt(number)).Build(),
		s.Redis.B().Get().Key(s.Keys.Watermark()).Build(),
	}
	// A submission route left the session's revocation to this service
	// (api.RevocationKey): it is checked in the same round trip, before
	// the receipt is used.
	revocationKey := api.RevocationKey(ctx)
	if revocationKey != "" {
		commands = append(commands, s.Redis.B().Exists().Key(revocationKey).Build())
	}
	results := s.Redis.DoMulti(ctx, commands...)
	if revocationKey != "" {
		if err := revokedFrom(results[2]); err != nil {
			return nil, err
		}
	}
	fields, err := results[0].AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if len(fields) == 0 || fields[enrolment.FieldOwner] != hex.EncodeToString(owner) {
		return nil, errNotOwner
	}
	watermark, err := watermarkOf(results[1])
	if err != nil {
		return nil, err
	}
	fields[enrolment.FieldStatus] = enrolment.EffectiveStatus(fields, watermark)
	return fields, nil
}

// revokedFrom reads an EXISTS of a session's revocation key and returns
// apierror.ErrNotSignedIn when the session was revoked.
func revokedFrom(result rueidis.RedisResult) error {
	revoked, err := result.AsInt64()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if revoked > 0 {
		return apierror.ErrNotSignedIn
	}
	return nil
}

// checkRevoked rejects a revoked session before a step that reads the
// parent's own data, when a submission route left the check to this
// service (api.RevocationKey). The claim scripts check again, so a
// sign-out during the request still stops it.
func (s *Service) checkRevoked(ctx context.Context) error {
	key := api.RevocationKey(ctx)
	if key == "" {
		return nil
	}
	ctx, cancel := api.WithTimeout(ctx, s.Timeout)
	defer cancel()
	return revokedFrom(s.Redis.Do(ctx, s.Redis.B().Exists().Key(key).Build()))
}

// watermarkOf reads the drainer's watermark from a GET result; a missing
// watermark (no batch stored yet) is the empty string.
func watermarkOf(result rueidis.RedisResult) (string, error) {
	watermark, err := result.ToString()
	if rueidis.IsRedisNil(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return watermark, nil
}

// Status is the parent's view of one receipt.
type Status struct {
	ReceiptNumber string `json:"receiptNumber"`
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	StatusLabel   string `json:"statusLabel"`
	AcceptedAt    string `json:"acceptedAt,omitempty"`
	Note          string `json:"note,omitempty"`
	FirstNumber   string `json:"firstNumber,omitempty"`
	// RegistrationNumber and DistrictCode are set for applications.
	RegistrationNumber string `json:"registrationNumber,omitempty"`
	DistrictCode       string `json:"districtCode,omitempty"`
	// ResidenceDistrictCode and HukouDistrictCode are set for registrations,
	// so the application page can offer the districts the child may apply in.
	ResidenceDistrictCode string `json:"residenceDistrictCode,omitempty"`
	HukouDistrictCode     string `json:"hukouDistrictCode,omitempty"`
	// Choices are an application's campuses in ranked order.
	Choices []Choice `json:"choices,omitempty"`
	// ChildName is the child's name, so that a family with twins can tell
	// its receipts apart. The parent's list sets it for registrations and
	// their applications, the status page for registrations.
	ChildName string `json:"childName,omitempty"`
}

// Choice is one ranked campus of an application.
type Choice struct {
	CampusID         int64  `json:"campusId"`
	KindergartenName string `json:"kindergartenName"`
	CampusName       string `json:"campusName"`
}

// ReceiptStatus returns the status of a receipt the parent owns, or a 404
// error.
func (s *Service) ReceiptStatus(ctx context.Context, subject, number string) (Status, error) {
	if enrolment.NumberKind(number) == "" {
		return Status{}, errNotOwner
	}
	owner := s.OwnerIndex(subject)
	fields, err := s.receipt(ctx, owner, number)
	if errors.Is(err, errNotOwner) {
		fields, err = s.rejectedReceipt(ctx, owner, number)
	}
	if err != nil {
		return Status{}, lookupError(err)
	}
	return s.statusOf(number, fields), nil
}

// rejectedReceipt reads the parent's receipt of a submission rejected
// because its number is stored for another family's record
// (enrolment.RejectedReceipt), or returns errNotOwner. Only the status
// pages read it: the receipt is failed, and nothing else may use it.
func (s *Service) rejectedReceipt(ctx context.Context, owner []byte, number string) (map[string]string, error) {
	ctx, cancel := api.WithTimeout(ctx, s.Timeout)
	defer cancel()
	fields, err := s.Redis.Do(ctx, s.Redis.B().Hgetall().Key(s.Keys.Receipt(enrolment.RejectedReceipt(number, hex.EncodeToString(owner)))).Build()).AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLookupUnavailable, err)
	}
	if len(fields) == 0 || fields[enrolment.FieldOwner] != hex.EncodeToString(owner) {
		return nil, errNotOwner
	}
	return fields, nil
}

func (s *Service) statusOf(number string, fields map[string]string) Status {
	status := Status{
		ReceiptNumber:      number,
		Kind:               fields[enrolment.FieldKind],
		Status:             fields[enrolment.FieldStatus],
		StatusLabel:        enrolment.StatusLabel(fields[enrolment.FieldStatus]),
		AcceptedAt:         fields[enrolment.FieldAcceptedAt],
		Note:               fields[enrolment.FieldNote],
		FirstNumber:        fields[enrolment.FieldFirstNumber],
		RegistrationNumber: fields[enrolment.FieldRegistration],
		DistrictCode:       fields[enrolment.FieldDistrict],
	}
	if status.Status == enrolment.StatusFailed && fields[enrolment.FieldNumberTaken] != "" {
		status.StatusLabel = enrolment.NumberTakenLabel
	}
	if body := fields[enrolment.FieldRecord]; body != "" && status.Kind == enrolment.KindRegistration {
		status.ChildName = s.childName(number, body)
	}
	if facts, ok := unpackFacts(fields[enrolment.FieldFacts]); ok {
		status.ResidenceDistrictCode, status.HukouDistrictCode = facts.residenceDistrict(), facts.hukouDistrict()
	}
	if choices := fields[enrolment.FieldChoices]; choices != "" {
		c := s.Catalogue.Current()
		for _, part := range strings.Split(choices, ",") {
			id, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				continue
			}
			choice := Choice{CampusID: id}
			if c != nil {
				if campus, ok := c.Campus(id); ok {
					choice.KindergartenName, choice.CampusName = campus.KindergartenName, campus.CampusName
				}
			}
			status.Choices = append(status.Choices, choice)
		}
	}
	return status
}

// childName opens the child's name in the registration record body that
// the receipt of number keeps. It returns "" when the record cannot be
// read, and logs why: the receipt still shows without the name.
func (s *Service) childName(number, body string) string {
	record, err := enrolment.DecodeRegistration(number, []byte(body))
	if err == nil {
		var name []byte
		if name, err = s.Keyring.Open(record.SealedChildName, enrolment.ContextChildName); err == nil {
			return string(name)
		}
	}
	slog.Warn("child's name not shown on the receipt", "number", number, "error", err)
	return ""
}

// OwnerReceipts returns the statuses of every receipt the parent holds,
// newest first.
func (s *Service) OwnerReceipts(ctx context.Context, subject string) ([]Status, error) {
	owner := s.OwnerIndex(subject)
	ctx, cancel := api.WithTimeout(ctx, s.Timeout)
	defer cancel()
	numbers, err := s.Redis.Do(ctx, s.Redis.B().Smembers().Key(s.Keys.OwnerReceipts(owner)).Build()).AsStrSlice()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLookupUnavailable, err)
	}
	if len(numbers) > 50 {
		numbers = numbers[:50]
	}
	commands := make(rueidis.Commands, 0, len(numbers)+1)
	commands = append(commands, s.Redis.B().Get().Key(s.Keys.Watermark()).Build())
	for _, number := range numbers {
		commands = append(commands, s.Redis.B().Hgetall().Key(s.Keys.Receipt(number)).Build())
	}
	results := s.Redis.DoMulti(ctx, commands...)
	watermark, err := watermarkOf(results[0])
	if err != nil {
		return nil, lookupError(err)
	}
	statuses := make([]Status, 0, len(numbers))
	for i, result := range results[1:] {
		fields, err := result.AsStrMap()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLookupUnavailable, err)
		}
		if len(fields) > 0 && fields[enrolment.FieldOwner] == hex.EncodeToString(owner) {
			fields[enrolment.FieldStatus] = enrolment.EffectiveStatus(fields, watermark)
			// NOTE: a rejected receipt lists under its number, so when one
			// family holds both receipts of a number, the list shows it twice
			// and the status page by number shows the stored one.
			statuses = append(statuses, s.statusOf(enrolment.ReceiptNumber(numbers[i]), fields))
		}
	}
	names := make(map[string]string, len(statuses))
	for _, status := range statuses {
		if status.Kind == enrolment.KindRegistration && status.ChildName != "" {
			names[status.ReceiptNumber] = status.ChildName
		}
	}
	for i := range statuses {
		if statuses[i].Kind == enrolment.KindApplication {
			statuses[i].ChildName = names[statuses[i].RegistrationNumber]
		}
	}
	acceptedAt := func(status Status) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, status.AcceptedAt)
		return t
	}
	sort.Slice(statuses, func(i, j int) bool { return acceptedAt(statuses[i]).After(acceptedAt(statuses[j])) })
	return statuses, nil
}

// payloadHasher hashes the normalised fields of a submission, each with its
// length, so that two submissions hash alike exactly when they would store
// the same record.
type payloadHasher struct {
	sum   [sha256.Size]byte
	state interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
}

func newPayloadHasher() *payloadHasher {
	return &payloadHasher{state: sha256.New()}
}

func (h *payloadHasher) add(values ...string) {
	var length [4]byte
	for _, value := range values {
		binary.BigEndian.PutUint32(length[:], uint32(len(value)))
		h.state.Write(length[:])
		h.state.Write([]byte(value))
	}
}

func (h *payloadHasher) addJSON(value any) error {
	data, err := json.Marshal(value) // maps marshal with sorted keys
	if err != nil {
		return err
	}
	h.add(string(data))
	return nil
}

func (h *payloadHasher) bytes() []byte { return h.state.Sum(h.sum[:0]) }

var errSeal = errors.New("seal submission")
