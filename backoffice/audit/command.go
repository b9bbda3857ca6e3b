package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
)

// VerifyCommand runs Verify for `backoffice audit verify` and prints the
// result to out in English and Chinese. It returns an error wrapping
// ErrBroken when the chain is broken, so the command exits with status 1.
func VerifyCommand(ctx context.Context, db *sqlx.DB, out io.Writer) error {
	trail := &Trail{DB: db, Now: time.Now}
	result, err := trail.Verify(ctx)
	if err != nil && !errors.Is(err, ErrBroken) {
		return fmt.Errorf("verify the audit trail: %w", err)
	}
	if len(result.Problems) == 0 {
		fmt.Fprintf(out, "audit trail intact: %d rows checked, every hash and link matches\n", result.Rows)
		fmt.Fprintf(out, "审计日志完整：已校验 %d 条记录，哈希与链接均一致\n", result.Rows)
		return nil
	}
	fmt.Fprintf(out, "audit trail BROKEN: %d rows checked, %d problems\n", result.Rows, len(result.Problems))
	fmt.Fprintf(out, "审计日志已被篡改：已校验 %d 条记录，发现 %d 处问题\n", result.Rows, len(result.Problems))
	for _, problem := range result.Problems {
		fmt.Fprintf(out, "  row %d: %s\n", problem.ID, problem.Reason)
		fmt.Fprintf(out, "  第 %d 条：%s\n", problem.ID, ProblemLabel(problem.Reason))
	}
	return fmt.Errorf("%w: %d problems in %d rows, the first at row %d",
		ErrBroken, len(result.Problems), result.Rows, result.Problems[0].ID)
}
