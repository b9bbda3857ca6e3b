package enrolment

import (
	"time"

	"github.com/sh-preschool/preschool/shared/config"
)

// ReceiptTTL reads EDGE_RECEIPT_TTL, the lifetime of receipts and claims
// in Redis, which the edge and the back office share.
func ReceiptTTL(r *config.Reader) time.Duration {
	return r.Duration("EDGE_RECEIPT_TTL", 400*24*time.Hour, time.Hour)
}
