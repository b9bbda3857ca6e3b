package monitoring

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// inPgxTx runs work in one transaction on a pgx connection of db, which
// COPY needs, and commits when work returns nil.
func inPgxTx(ctx context.Context, db *sqlx.DB, work func(tx pgx.Tx) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		stdlibConn, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the database driver is %T, not pgx", driverConn)
		}
		tx, err := stdlibConn.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if err := work(tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// copyRows streams rows into table with COPY, the fastest way PostgreSQL
// loads rows, and returns how many it loaded.
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, source pgx.CopyFromSource) (int64, error) {
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, source)
	if err != nil {
		return copied, fmt.Errorf("copy into %s: %w", table, err)
	}
	return copied, nil
}

// sliceSource is a CopyFromSource over rows held in memory.
func sliceSource(rows [][]any) pgx.CopyFromSource { return pgx.CopyFromRows(rows) }

// funcSource is a CopyFromSource that calls next for each row until next
// returns false.
type funcSource struct {
	next   func() ([]any, bool, error)
	values []any
	err    error
}

func (s *funcSource) Next() bool {
	if s.err != nil {
		return false
	}
	values, ok, err := s.next()
	s.values, s.err = values, err
	return ok && err == nil
}

func (s *funcSource) Values() ([]any, error) { return s.values, nil }

func (s *funcSource) Err() error { return s.err }
