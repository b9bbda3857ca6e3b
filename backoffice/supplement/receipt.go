package supplement

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

var errNumberUnavailable = apierror.New(http.StatusServiceUnavailable, "number_unavailable",
	"暂时无法分配报名编号，请稍后重试。")

// drawNumber draws the next application number of the district from the
// sequence the edge uses, so staff and parents never get the same number.
func (h *Handlers) drawNumber(ctx context.Context, year int, district string) (string, error) {
	callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	sequence, err := h.Redis.Do(callCtx, h.Redis.B().Incr().Key(h.Keys.ApplicationSequence(year, district)).Build()).AsInt64()
	if err != nil {
		slog.Error("application sequence not drawn", "year", year, "district", district, "error", err)
		return "", errNumberUnavailable
	}
	return enrol.FormatApplicationNumber(year, district, sequence), nil
}

// publishScript writes what the edge reads about an application made in
// the back office. The child's claim makes the edge refuse the parent's own
// application with this number, the receipt carries the status, and the
// parent's set of receipts lists it. The claim is set only when it is
// missing, already names this application, or names the stale application
// in ARGV[5] (one PostgreSQL holds as returned or deleted). A claim of any
// other application, which a parent took after the check in apply, is
// kept, and the script returns 0. The registration's receipt, while it
// exists, gets the status verified, because the admin checked the
// documents, unless it is marked enrol.FieldNumberTaken (another family's). The keys get the TTL of the registration's receipt while that
// exists, else ARGV[4].
//
// KEYS[1] claim, KEYS[2] receipt, KEYS[3] owner set, KEYS[4] the
// registration's receipt. ARGV[1] number, ARGV[2] claim value, ARGV[3]
// owner index in hex, ARGV[4] TTL in seconds, ARGV[5] the stale claimed
// number or "", ARGV[6..] receipt fields.
var publishScript = rueidis.NewLuaScript(`
local ttl = redis.call('TTL', KEYS[4])
if ttl <= 0 then
  ttl = tonumber(ARGV[4])
elseif redis.call('HEXISTS', KEYS[4], '` + enrol.FieldNumberTaken + `') == 0 then
  redis.call('HSET', KEYS[4], 'status', 'verified')
end
local claimed = 1
local current = redis.call('GET', KEYS[1])
local number = current and string.match(current, '^[^|]*')
if not current or number == ARGV[1] or (ARGV[5] ~= '' and number == ARGV[5]) then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
else
  claimed = 0
end
redis.call('HSET', KEYS[2], 'owner', ARGV[3], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ttl)
return claimed
`)

// claimedNumber returns the application number the child's claim in Redis
// names, or "" when there is no claim. The edge sets the claim when it
// accepts a parent's application, before the drain stores it in
// PostgreSQL.
func (h *Handlers) claimedNumber(ctx context.Context, year int, childIndex []byte) (string, error) {
	callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	claim, err := h.Redis.Do(callCtx, h.Redis.B().Get().Key(h.Keys.ApplicationClaim(year, childIndex)).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", nil
	}
	if err != nil {
		slog.Error("application claim not read", "year", year, "error", err)
		return "", errClaimUnavailable
	}
	number, _, _ := strings.Cut(claim, "|")
	return number, nil
}

var errClaimTaken = errors.New("the child's application claim names another application")

var errClaimUnavailable = apierror.New(http.StatusServiceUnavailable, "claim_unavailable",
	"暂时无法确认该幼儿是否已提交报名，请稍后重试。")

// receiptFacts are the facts of a stored supplementary application that
// the parent's pages show.
type receiptFacts struct {
	Number string
	// StaleClaim is the application number of a claim that PostgreSQL
	// holds as returned or deleted, which this application may replace.
	StaleClaim   string
	Registration string
	Year         int
	ChildIndex   []byte
	OwnerIndex   []byte
	DistrictCode string
	CategoryCode string
	CampusID     int64
	PayloadHash  []byte
	AcceptedAt   time.Time
}

// publishReceipt writes the receipt to Redis after the commit, trying
// three times. When all three fail, the database still holds the
// application.
func (h *Handlers) publishReceipt(ctx context.Context, facts receiptFacts) error {
	ctx = context.WithoutCancel(ctx)
	stamp := facts.AcceptedAt.UTC().Format(time.RFC3339Nano)
	keys := []string{
		h.Keys.ApplicationClaim(facts.Year, facts.ChildIndex), h.Keys.Receipt(facts.Number),
		h.Keys.OwnerReceipts(facts.OwnerIndex), h.Keys.Receipt(facts.Registration),
	}
	args := []string{
		facts.Number, enrol.ClaimValue(facts.Number, facts.PayloadHash, facts.DistrictCode),
		hex.EncodeToString(facts.OwnerIndex), strconv.FormatInt(int64(h.ReceiptTTL/time.Second), 10), facts.StaleClaim,
		enrol.FieldKind, enrol.KindApplication, enrol.FieldStatus, enrol.StatusDocumentsVerified,
		enrol.FieldAcceptedAt, stamp, enrol.FieldRecordedAt, stamp,
		enrol.FieldYear, strconv.Itoa(facts.Year), enrol.FieldRegistration, facts.Registration, enrol.FieldDistrict, facts.DistrictCode,
		enrol.FieldCategory, facts.CategoryCode, enrol.FieldChoices, strconv.FormatInt(facts.CampusID, 10), enrol.FieldSupplementary, "1",
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var claimed int64
		claimed, err = publishScript.Exec(callCtx, h.Redis, keys, args).AsInt64()
		cancel()
		if err == nil && claimed == 0 {
			// NOTE: the drain marks the parent's application
			// rejected_duplicate, because PostgreSQL already holds this
			// one, but the claim names the parent's number until it expires.
			slog.Error("child's application claim names another application; claim kept",
				"application", facts.Number, "registration", facts.Registration)
			return errClaimTaken
		}
		if err == nil {
			return nil
		}
	}
	slog.Error("supplementary application not published to Redis", "application", facts.Number, "error", err)
	return fmt.Errorf("publish receipt %s: %w", facts.Number, err)
}
