package enrolment

import (
	"github.com/redis/rueidis"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// ReleaseScript writes a new status into a receipt and releases the
// child's claim when the claim still names this record, so the family may
// submit again. A claim naming another record (a newer submission) stays.
// A receipt that Redis no longer holds is not recreated, and one marked
// enrol.FieldNumberTaken belongs to another family and is left alone.
//
// KEYS[1] receipt, KEYS[2] claim. ARGV[1] status, ARGV[2] note, ARGV[3]
// the record's number, ARGV[4] "1" to mark the receipt
// enrol.FieldNumberTaken as well (optional).
//
// Returns 1 when the claim was released, 0 otherwise.
var ReleaseScript = rueidis.NewLuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], '` + enrol.FieldNumberTaken + `') == 0 then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
  if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'note', ARGV[2]) end
  if ARGV[4] == '1' then redis.call('HSET', KEYS[1], '` + enrol.FieldNumberTaken + `', '1') end
end
local claim = redis.call('GET', KEYS[2])
if claim and string.sub(claim, 1, string.len(ARGV[3]) + 1) == ARGV[3] .. '|' then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`)

// StatusScript writes a new status into a receipt that still exists, as
// the edge's status page reads it, and a note for the parent when one is
// given. A receipt marked enrol.FieldNumberTaken is left alone.
// KEYS[1] receipt, ARGV[1] status, ARGV[2] note (optional).
var StatusScript = rueidis.NewLuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], '` + enrol.FieldNumberTaken + `') == 0 then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
  if ARGV[2] and ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'note', ARGV[2]) end
  return 1
end
return 0
`)
