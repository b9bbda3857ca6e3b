package enrolment

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// FactsSeparator separates the packed facts of a registration's receipt.
// The facts are codes, flags and hex, none of which contains it.
const FactsSeparator = "|"

// PackRegistrationFacts packs the facts of a registration that its
// application needs into the receipt's FieldFacts. The order is: year,
// child index, document type, hukou in Shanghai, hukou district, street and
// committee, residence district, street and committee, at the hukou
// address, a parent's Shanghai hukou, a parent's residence document and
// points qualified. They travel as one value because a field per fact made
// the claim script the largest cost in Redis. The sealed addresses, which
// matching by detailed address or compound needs, are read from the
// receipt's record instead.
func PackRegistrationFacts(r *RegistrationRecord) string {
	return strings.Join([]string{
		strconv.Itoa(r.Year), hex.EncodeToString(r.ChildIndex), r.ChildDocumentType, flag(r.HukouInShanghai),
		r.HukouDistrict, r.HukouStreet, r.HukouCommittee,
		r.ResidenceDistrict, r.ResidenceStreet, r.ResidenceCommittee,
		flag(r.HukouAtResidence), flag(r.GuardianShanghaiHukou),
		r.GuardianResidenceDoc, flag(r.GuardianPoints),
	}, FactsSeparator)
}

func flag(value bool) string {
	if value {
		return "1"
	}
	return "0"
}

// JoinCampusIDs writes an application's campus choices for its receipt's
// FieldChoices.
func JoinCampusIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}
