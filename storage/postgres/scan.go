package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Times are stored as timestamptz (microsecond precision); the zero
// time.Time is NULL.

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromTS(ts pgtype.Timestamptz) time.Time {
	if !ts.Valid {
		return time.Time{}
	}
	return ts.Time.UTC()
}
