package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
)

// VerifyCommand runs Verify and, when checkpoints is not nil, verifies the
// signed checkpoints too, for `backoffice audit verify`. It prints the
// result to out in English and Chinese. It returns an error wrapping
// ErrBroken when the chain or a checkpoint is broken, so the command exits
// with status 1.
func VerifyCommand(ctx context.Context, db *sqlx.DB, checkpoints *Checkpoints, out io.Writer) error {
	trail := &Trail{DB: db, Now: time.Now}
	result, err := trail.Verify(ctx)
	if err != nil && !errors.Is(err, ErrBroken) {
		return fmt.Errorf("verify the audit trail: %w", err)
	}
	signed := 0
	if checkpoints != nil {
		count, problems, err := checkpoints.Verify(ctx)
		if err != nil {
			return fmt.Errorf("verify the audit checkpoints: %w", err)
		}
		signed = count
		result.Problems = append(result.Problems, problems...)
	}
	if len(result.Problems) == 0 {
		fmt.Fprintf(out, "audit trail intact: %d rows checked, every hash and link matches, %d signed checkpoints verify\n", result.Rows, signed)
		fmt.Fprintf(out, "审计日志完整：已校验 %d 条记录，哈希与链接均一致，%d 个签名检查点验签通过\n", result.Rows, signed)
		return nil
	}
	fmt.Fprintf(out, "audit trail BROKEN: %d rows checked, %d problems\n", result.Rows, len(result.Problems))
	fmt.Fprintf(out, "审计日志已被篡改：已校验 %d 条记录，发现 %d 处问题\n", result.Rows, len(result.Problems))
	for _, problem := range result.Problems {
		if problem.Checkpoint != 0 {
			fmt.Fprintf(out, "  checkpoint %d at row %d: %s\n", problem.Checkpoint, problem.ID, problem.Reason)
			fmt.Fprintf(out, "  第 %d 个检查点（第 %d 条）：%s\n", problem.Checkpoint, problem.ID, ProblemLabel(problem.Reason))
			continue
		}
		fmt.Fprintf(out, "  row %d: %s\n", problem.ID, problem.Reason)
		fmt.Fprintf(out, "  第 %d 条：%s\n", problem.ID, ProblemLabel(problem.Reason))
	}
	return fmt.Errorf("%w: %d problems in %d rows, the first at row %d",
		ErrBroken, len(result.Problems), result.Rows, result.Problems[0].ID)
}
